// The supervisor's configuration: what to run, how to lock it, how to supervise it.
//
// Sources, in order of application:
//   1. the main file (default /etc/mlock-supervisor/mlock-supervisor.json);
//   2. every `*.json` drop-in from the drop-in directories (default
//      /etc/mlock-supervisor/conf.d), in lexical order of file name across all directories.
//      When the same name appears in several directories the earliest-listed directory wins,
//      as with systemd drop-ins; a drop-in that is a symlink to /dev/null masks that name.
//      Names starting with "." and names not ending in ".json" are ignored.
// Each source is an RFC 7386 JSON merge patch onto the document built so far, so a drop-in
// can add a child, change one field of one child, or remove a child with `null`; a `null`
// member thus always means "back to the default".
//
// Bounds, checked before a document is built, so that no file can exhaust the stack or
// the (locked) heap: at most kMaxConfigFileBytes (1 MiB) per file, nesting at most
// kMaxConfigDepth (32) levels, and a key at most once per object (a duplicate is an
// error naming its JSON pointer, never a silent "last one wins").
//
// The merged document (every key optional except each child's "exec"):
//   { "self": { "mlock": { MLOCK } },      the supervisor's own lock
//     "monitor_interval_sec": 1.0,         /proc/PID/status check period, 0.05..3600
//     "full_check_interval_sec": 30,       period of the costly /proc/PID/smaps coverage
//                                          check, 0.05..86400
//     "children": { "NAME": {
//       "exec": ["/abs/path", "arg"...],   required, exec[0] absolute
//       "environment": {"K": "V"},         added to the child's environment
//       "working_directory": "/",          absolute
//       "user": "name"|"1000"|1000,        unset = the supervisor's own user
//       "group": "name"|"1000"|1000,       unset = the user's primary group
//       "preload": true,                   inject libduende-mlock-preload.so
//       "mlock": { MLOCK },                defaults as below; not inherited from "self"
//       "limit_memlock": "infinity",       or bytes: 1048576 or "64M" (K/M/G/T = KiB..TiB)
//       "oom_score_adj": -1000,            -1000..1000, always applied
//       "ready": "locked",                 exec | notify | locked
//       "after": ["other-child"],          start after these children are ready
//       "start_timeout_sec": 30,           (0, 3600]
//       "restart": "on-failure",           always | on-failure | no
//       "restart_sec": 0.1,                first restart delay, >= 0
//       "restart_max_sec": 30,             backoff cap, >= restart_sec
//       "start_limit_burst": 5,            >= 1 starts per start_limit_interval_sec
//       "start_limit_interval_sec": 60,    > 0
//       "stop_signal": "SIGTERM",          name with or without SIG, SIGRTMIN+N, or 1..64
//       "stop_timeout_sec": 10,            > 0, then SIGKILL
//       "on_lock_lost": "warn" } } }       warn | restart
//   MLOCK = { "current": true, "future": true, "onfault": false, "required": true,
//             "io_flusher": false, "retain_heap": false }
// Durations are seconds (integer or fraction) and at most 31536000 (a year) unless a
// tighter bound is given above. Unknown keys are errors, with a suggestion when close.
#pragma once

#include <sys/types.h>

#include <csignal>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "duende/mlock.hpp"

namespace duende::supervisor {

inline constexpr const char* kDefaultMainConfigFile = "/etc/mlock-supervisor/mlock-supervisor.json";
inline constexpr const char* kDefaultDropinDir = "/etc/mlock-supervisor/conf.d";
inline constexpr std::size_t kMaxConfigFileBytes = 1024 * 1024;
inline constexpr std::size_t kMaxConfigDepth = 32;

// When a started child counts as ready (and children `after` it may start).
enum class Readiness {
  Exec,    // as soon as execve() succeeded
  Notify,  // when it sends READY=1 to NOTIFY_SOCKET
  Locked,  // when it reports X_DUENDE_MLOCK=locked (the preload shim does this)
};

// Whether a child that exited is started again.
enum class RestartPolicy {
  Always,     // whatever the exit status
  OnFailure,  // unless it exited with status 0
  No,
};

// What the monitor does when a child's memory is found no longer locked.
enum class OnLockLost { Warn, Restart };

// One supervised child, with every default filled in.
// The swap a child backs ("swap": {...}). The supervisor turns it on once the child is
// ready and verified locked, and off before any stop of the child.
struct SwapSpec {
  // The swap device (or file): an absolute path; "" = the one the child names in its
  // readiness (X_DUENDE_SWAP_DEVICE=PATH in a datagram, as ramswap sends with READY=1).
  std::string device;
  int priority = -1;    // swapon priority 0..32767; -1 lets the kernel choose
  bool mkswap = false;  // write a fresh swap signature (mkswap) before each swapon
  bool operator==(const SwapSpec&) const = default;
};

struct ChildSpec {
  std::string name;               // the key under "children"
  std::vector<std::string> exec;  // argv; exec[0] is an absolute path
  std::map<std::string, std::string> environment;
  std::string working_directory = "/";
  // Credentials, resolved at load time. If gid is set, the spawner calls
  // setgroups(supplementary_groups) and setgid(*gid); if uid is set, then setuid(*uid).
  // Both unset: the child runs with the supervisor's own credentials.
  //  - user only: gid = the user's passwd group; supplementary = getgrouplist(user, gid),
  //    which is gid plus every group listing the user as a member (as initgroups sets);
  //  - user and group: gid = group; supplementary = getgrouplist(user, group);
  //  - group only: gid = group; supplementary = {group}.
  // A numeric user without a passwd entry needs a group and gets supplementary = {group}.
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::vector<gid_t> supplementary_groups;
  std::string user_name;  // the passwd name of uid; "" if unset or not in passwd
  bool preload = true;
  mlock::MlockConfig mlock;  // what it must lock; must_be_locked() says whether it must
  std::optional<std::uint64_t> limit_memlock;  // RLIMIT_MEMLOCK bytes; nullopt = infinity
  int oom_score_adj = -1000;
  Readiness ready = Readiness::Locked;
  std::vector<std::string> after;  // names of other children, as written
  double start_timeout_sec = 30;
  RestartPolicy restart = RestartPolicy::OnFailure;
  double restart_sec = 0.1;
  double restart_max_sec = 30;
  unsigned start_limit_burst = 5;
  double start_limit_interval_sec = 60;
  int stop_signal = SIGTERM;
  double stop_timeout_sec = 10;
  OnLockLost on_lock_lost = OnLockLost::Warn;
  std::optional<SwapSpec> swap;  // the swap it backs, if any

  // Field-wise; a reload restarts exactly the children whose ChildSpec changed.
  bool operator==(const ChildSpec&) const = default;
};

// Every field of `child` in one canonical text: equal texts, equal definitions (a unit
// test changes each field in turn). definition_hash() is its 64-bit FNV-1a, in hex: what
// the state file keeps, so that a restarted supervisor restarts exactly the children whose
// definition changed while it was down.
std::string definition_text(const ChildSpec& child);
std::string definition_hash(const ChildSpec& child);

struct Config {
  mlock::MlockConfig self_mlock;
  double monitor_interval_sec = 1.0;
  double full_check_interval_sec = 30;
  std::map<std::string, ChildSpec> children;  // by name
  // Every child name once; each child comes after all children in its `after` list, and
  // among children free to start at the same point the lexically smaller name comes first.
  std::vector<std::string> start_order;

  bool operator==(const Config&) const = default;
};

// One thing wrong with the configuration.
struct ConfigProblem {
  std::string file;  // the file responsible (for a merged value: the last one to set it)
  // "LINE:COL" (1-based; COL counts characters) for syntax errors, a JSON pointer into the
  // merged document such as "/children/ublk-swap0/exec/0" otherwise (for a missing
  // required key, the pointer it would have), or "" when the problem concerns the whole file.
  std::string where;
  std::string message;

  // "FILE: WHERE: MESSAGE", or "FILE: MESSAGE" when where is empty.
  std::string to_string() const;
  bool operator==(const ConfigProblem&) const = default;
};

struct ConfigSources {
  std::string main_file = kDefaultMainConfigFile;
  // A missing main file reads as `{}` unless the path was given explicitly (--config), in
  // which case it is a problem.
  bool main_file_explicit = false;
  std::vector<std::string> dropin_dirs = {kDefaultDropinDir};  // missing ones are skipped
  // Refuse files and drop-in directories that are not owned by uid 0 or are writable by
  // group or other: they name programs the supervisor runs as root. The daemon sets this
  // when it runs as root.
  bool check_ownership = false;
};

using ConfigResult = duende::mlock::Result<Config, std::vector<ConfigProblem>>;

// Reads the main file and the drop-ins named by `sources`, merges and validates them.
// Success: the complete Config. Failure: every problem found. First come the problems with
// the files themselves, in the order met (main file, drop-in directories, drop-ins by
// name), each with an empty `where`: "cannot read: <strerror>" (an explicit main file or a
// drop-in that is missing or unreadable, a dangling symlink), "cannot read directory:
// <strerror>", "not a directory", "not a regular file", and with check_ownership
// "refusing: owned by uid N, not root; ..." and "refusing: writable by group/other (mode
// 0664); ...". A refused directory's drop-ins are not read. Then everything
// config_from_documents reports about the files that could be read; the ones left out may
// cause further problems there. Reads only; no side effects.
ConfigResult load_config(const ConfigSources& sources);

// The pure core of load_config. `docs` are (file name, file text) pairs in order of
// application; the first is the main file, to which problems are attributed when no file
// set the value concerned. Each text is parsed (syntax errors and invalid UTF-8 are
// reported with LINE:COL; a top level that is not an object is reported and the file is
// skipped), merge-patched in order, then validated as described at the top of this file.
// Validation collects every problem, each naming the file that last set the value at
// fault. User and group names are resolved through NSS (getpwnam_r, getgrnam_r,
// getgrouplist); that is the only outside state consulted.
ConfigResult config_from_documents(const std::vector<std::pair<std::string, std::string>>& docs);

// Parses a signal: a name with or without the "SIG" prefix in any case ("TERM", "SIGINT",
// "sigkill"), "SIGRTMIN+N" / "SIGRTMAX-N", or a decimal number 1..64.
// Failure: a message saying what is wrong, with a suggestion when a name is close.
duende::mlock::Result<int, std::string> parse_signal(std::string_view text);

// The canonical name of signal `signo`: "SIGTERM", "SIGRTMIN+3"; the decimal number for
// signals without a name.
std::string signal_name(int signo);

// Parses a byte count: decimal digits with an optional suffix K, M, G or T (either case)
// meaning KiB, MiB, GiB, TiB. "64M" is 67108864. Failure: a message for an empty string,
// stray characters, or a value that does not fit in 64 bits.
duende::mlock::Result<std::uint64_t, std::string> parse_byte_size(std::string_view text);

// Levenshtein distance (insertions, deletions, substitutions, each cost 1) in bytes, with a
// swap of two adjacent bytes also costing 1 (optimal string alignment): typos are often
// transpositions, and "TREM" should be closer to "TERM" than to "TRAP".
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it is close enough to be a likely typo: an
// edit_distance of at most 2, and at most half the length of the longer of the two.
// The first such candidate on ties.
// nullopt when none is close or `word` is itself a candidate.
std::optional<std::string> did_you_mean(std::string_view word,
                                        const std::vector<std::string_view>& candidates);

}  // namespace duende::supervisor
