// A cgroup (v2) per child: where the supervisor puts each child's processes so that it can
// count them, signal them all and end them all, whatever they fork.
//
// Layout, below the "base" cgroup the supervisor owns:
//   BASE/supervisor      the supervisor itself (under a service manager only: a cgroup with
//                        processes cannot hand controllers to its children)
//   BASE/child.NAME      one per child, made before the child is started, removed once empty
// BASE is, under systemd, the unit's own cgroup (the unit says Delegate=yes); elsewhere a
// fresh "mlock-supervisor.PID" directory below the supervisor's own cgroup, so that several
// supervisors started from one cgroup (tests, containers) never share child cgroups. A
// supervisor that finds itself in a cgroup named "supervisor" (a re-exec, or a restart into
// the leaf it made) uses that leaf's parent.
//
// Where no cgroup v2 hierarchy is mounted, or the base cannot be made or written, children
// run in process groups instead (the old way: a double fork escapes), and `why_not()` says
// why.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "duende/result.hpp"

namespace duende::supervisor {

// A /proc or cgroup file's text (their stat size is 0 or a page, so it is read to the end),
// at most `limit` bytes; nullopt with errno set when it cannot be opened or read.
std::optional<std::string> read_pseudo_file(const std::string& path, std::size_t limit);

// The path of this process's cgroup on the v2 hierarchy: the "0::PATH" line of
// /proc/self/cgroup ("/" for the root), or nullopt when there is none (pure v1) or the
// text is malformed.
std::optional<std::string> parse_unified_cgroup(std::string_view proc_cgroup);

// Where the cgroup2 file system is mounted, from /proc/self/mountinfo text (the first
// "cgroup2" mount; octal escapes such as \040 undone), or nullopt when none is.
std::optional<std::string> parse_cgroup2_mount(std::string_view mountinfo);

// The pids in a cgroup.procs text (one decimal per line) or a /proc/PID/task/TID/children
// one (separated by spaces); anything else in it is skipped.
std::vector<pid_t> parse_pid_list(std::string_view text);

class Cgroups {
 public:
  // Finds or makes the base (see above). `under_service_manager`: started by systemd as a
  // service (its cgroup, named *.service, is the unit's, delegated to us). Never fails: an unusable
  // hierarchy gives an object with usable() false and why_not() set. Moves this process into
  // BASE/supervisor under a service manager.
  static Cgroups set_up(bool under_service_manager);
  // An object that uses no cgroups, saying `why`.
  static Cgroups unusable(std::string why);

  bool usable() const { return !base_.empty(); }
  // "cgroup v2: /sys/fs/cgroup/system.slice/mlock-supervisor.service" or
  // "process groups: no cgroup v2 hierarchy is mounted".
  std::string description() const;
  const std::string& why_not() const { return why_not_; }
  const std::string& base() const { return base_; }
  // Whether the memory controller is enabled for the children's cgroups.
  bool memory_controller() const { return memory_; }

  // Makes (or reuses) the cgroup of child `name`, returning its path. A cgroup that still
  // has processes (a child left over from before, not adopted) is emptied with cgroup.kill
  // first, and `leftovers` gets their pids. Failure: the errno of mkdir/open.
  // With `forbid_swap` and the memory controller, its memory.swap.max is set to 0 (a
  // second line of defence behind the child's own lock); `warning` gets why not, when
  // that write fails.
  mlock::Result<std::string, int> prepare_child(const std::string& name, bool forbid_swap,
                                                std::vector<pid_t>& leftovers,
                                                std::string& warning) const;
  // The oom_kill count of its memory.events (processes the OOM killer ended there), 0
  // without the memory controller.
  static std::uint64_t oom_kills(const std::string& path);
  // Opens the cgroup PATH as a directory (close-on-exec), for a child to be started in
  // (SpawnRequest::cgroup_fd); -1 with errno on failure.
  static int open_directory(const std::string& path);
  // The processes in the cgroup at `path` (its cgroup.procs), at most `limit`; empty when it
  // is gone or empty.
  static std::vector<pid_t> processes(const std::string& path, std::size_t limit);
  // The same from cgroup.procs text read elsewhere (kept open by the monitor), and how
  // many bytes such a text of `limit` processes may take.
  static std::vector<pid_t> processes_in(std::string_view procs_text, std::size_t limit);
  static std::size_t procs_bytes(std::size_t limit) { return limit * 9 + 9; }
  // Whether it has any process (cgroup.events "populated 1").
  static bool populated(const std::string& path);
  // SIGKILLs every process in it at once (cgroup.kill, Linux 5.14; before that, each
  // process in cgroup.procs): 0 or the errno.
  static int kill_all(const std::string& path);
  // Removes an empty child cgroup (EBUSY while populated: left alone), and its parent when
  // that is an emptied "mlock-supervisor.PID" base of an earlier supervisor.
  static void remove(const std::string& path);
  // The cgroup of process `pid`, as a path below the cgroup2 mount `mount`, or "" when it
  // has none or cannot be read.
  static std::string cgroup_of(pid_t pid, const std::string& mount);
  const std::string& mount() const { return mount_; }
  // Removes the base of a supervisor that was not started as a service once it is empty
  // (at a clean end).
  void remove_base() const;

  // What a child's cgroup is called below the base.
  static std::string child_dir_name(const std::string& name) { return "child." + name; }

 private:
  std::string mount_;       // where cgroup2 is mounted
  std::string base_;        // "" when unusable
  std::string why_not_;     // why unusable
  bool own_base_ = false;   // made by us (outside a service manager): removed at the end
  bool unit_base_ = false;  // a service unit's own cgroup
  bool memory_ = false;
};

}  // namespace duende::supervisor
