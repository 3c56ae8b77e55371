// Starting a child process: vfork-style, with its credentials, limits and stdio set up
// between clone() and execve(), and with exec failures reported to the caller.
//
// Why not fork(): the supervisor runs under mlockall(MCL_CURRENT|MCL_FUTURE), and fork()
// would copy (and lock) every page of it for a child that only wants to exec. The child is
// therefore started with clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD): it borrows the
// supervisor's memory until it execs, and the supervisor is suspended until then. All the
// child needs is prepared before clone(); between clone() and execve() the child makes only
// raw system calls.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <optional>
#include <string>
#include <vector>

#include "duende/result.hpp"

namespace duende::supervisor {

// What to run and how.
struct SpawnRequest {
  std::vector<std::string> argv;  // argv[0]: absolute path of the program (no PATH search)
  std::vector<std::string> env;   // the complete environment, "K=V" each
  std::string working_directory = "/";
  std::optional<uid_t> uid;                 // unset = keep ours
  std::optional<gid_t> gid;                 // unset = keep ours
  std::vector<gid_t> supplementary_groups;  // applied when uid or gid is set
  std::optional<rlim_t> memlock_limit;      // soft and hard; nullopt = inherit; RLIM_INFINITY ok
  // RLIMIT_NOFILE as given (soft, hard); nullopt = inherit. The supervisor raises its own
  // soft limit and gives children the usual one back with this.
  std::optional<rlimit> nofile_limit;
  std::optional<int> oom_score_adj;  // -1000..1000; nullopt = inherit
  bool ambient_ipc_lock = false;     // give a non-root child CAP_IPC_LOCK as an ambient capability
  int stdout_fd = -1;                // -1 = inherit the supervisor's
  int stderr_fd = -1;                // -1 = inherit the supervisor's
  // The child's cgroup: the open directory (O_RDONLY | O_DIRECTORY) of the v2 cgroup at
  // `cgroup`, where the child starts; -1 = stay in the caller's. The caller keeps the fd.
  int cgroup_fd = -1;
  std::string cgroup;
  // Used by System::spawn(): the child must never be swapped, so its cgroup gets
  // memory.swap.max = 0 where the memory controller is delegated to us.
  bool forbid_swap = false;
};

// waitid()'s P_PIDFD (Linux 5.4), missing from glibc 2.36's idtype_t.
inline constexpr idtype_t kIdPidfd = static_cast<idtype_t>(3);

// A started child. The caller owns `pidfd` (O_CLOEXEC) and must reap the child, e.g. with
// waitid(P_PIDFD, pidfd, ..., WEXITED), and close the pidfd.
struct SpawnedProcess {
  pid_t pid = -1;
  int pidfd = -1;
  // Started in request.cgroup by clone3 (CLONE_INTO_CGROUP), rather than moved there by
  // itself after clone(); false without a cgroup.
  bool born_in_cgroup = false;
  // With a cgroup and not born in it: the errno with which clone3 refused (now, or for
  // good at an earlier start: ENOSYS, E2BIG), for the caller to say why starts are slower.
  int clone3_error = 0;
  // What the child started without, one line each, for the caller to log (spawn_process()
  // writes nothing anywhere), e.g. "cannot set oom_score_adj -1000: Permission denied
  // (needs CAP_SYS_RESOURCE)". Empty when everything asked for was applied.
  std::vector<std::string> warnings;
};

// Why a child could not be started: the step that failed and its errno.
struct SpawnError {
  std::string step;  // "exec /usr/bin/x", "chdir /nonexistent", "setuid 1000", ...
  int error_number = 0;

  // "<step>: <strerror(error_number)>", e.g. "exec /usr/bin/x: No such file or directory".
  std::string message() const;
};

// Starts argv[0] as a child of the caller, set up in this order:
//   0. when `cgroup_fd` >= 0, it is born in that cgroup (clone3 with CLONE_INTO_CGROUP), so
//      nothing it starts is ever outside it. Where clone3 cannot do that (a kernel before
//      5.7, a seccomp filter that refuses clone3, another architecture) or refuses, the
//      child moves itself there first of all instead, by writing "0" to its cgroup.procs;
//      that move waits for an RCU grace period (milliseconds), the birth in it does not.
//      SpawnedProcess::born_in_cgroup says which happened;
//   1. all signal dispositions SIG_DFL and the signal mask empty (the supervisor blocks
//      signals for its signalfd; children must not inherit that);
//   2. its own process group (setpgid(0, 0));
//   3. stdin from /dev/null; stdout and stderr from `stdout_fd` / `stderr_fd` when >= 0;
//      every other descriptor is marked close-on-exec, so nothing else leaks into it;
//   4. RLIMIT_MEMLOCK soft and hard = `memlock_limit`. Raising the hard limit needs
//      CAP_SYS_RESOURCE; without it the soft limit is raised to the hard limit instead
//      and `warnings` gets "cannot raise RLIMIT_MEMLOCK to <limit or infinity>: Operation
//      not permitted (needs CAP_SYS_RESOURCE); using the hard limit <hard>";
//   5. RLIMIT_NOFILE = `nofile_limit` (soft, hard). Lowering always works; raising the
//      hard limit needs CAP_SYS_RESOURCE, soft above hard is EINVAL;
//   6. /proc/self/oom_score_adj = `oom_score_adj`. Lowering it below the inherited
//      minimum needs CAP_SYS_RESOURCE; when refused (EACCES/EPERM) the child starts
//      anyway and `warnings` gets "cannot set oom_score_adj -1000: Permission denied
//      (needs CAP_SYS_RESOURCE)";
//   7. when `uid` or `gid` is set: setgroups(supplementary_groups), then setgid(gid) if
//      set, then setuid(uid) if set (real, effective and saved ids). Needs CAP_SETGID
//      and CAP_SETUID;
//   8. when `ambient_ipc_lock` and `uid` is set and not 0: CAP_IPC_LOCK kept across
//      setuid (PR_SET_KEEPCAPS) and made the child's only permitted, effective,
//      inheritable and ambient capability, so it survives execve() of a non-setuid
//      program and the child may lock beyond RLIMIT_MEMLOCK. Needs CAP_IPC_LOCK in the
//      supervisor's permitted set. Otherwise ignored (root has CAP_IPC_LOCK anyway);
//   9. chdir(working_directory), with the new credentials' permissions;
//  10. execve(argv[0], argv, env).
// Nothing is written to the child's stdout or stderr before execve(): the caller is
// suspended until then, and a pipe there whose reader does not read would keep it so.
// Success: returns the child's pid, a pidfd and the warnings (steps 4 and 6) once its
// execve() is past the point of no return (the kernel released the borrowed memory). The
// kernel may still be finishing the exec for a moment: closing O_CLOEXEC descriptors,
// installing the new credentials and comm, so /proc/PID can briefly show the pre-exec
// state. The child's exit signal is
// SIGCHLD. A child killed by a signal before it could exec also counts as started: its
// pidfd then reports that death.
// Failure (the child, if one was started, has been reaped; no descriptor leaks):
//   - step "join cgroup <cgroup>": the cgroup was removed, or its controllers refuse
//     (ENODEV, EBUSY, ENOENT, EACCES);
//   - step "exec" or "exec <argv0>", EINVAL: argv empty, argv[0] not absolute, or a
//     string in argv/env containing '\0';
//   - step "open /dev/null", "dup stdout fd N", "dup stderr fd N" (EBADF: not open),
//     "mmap child stack" (ENOMEM), "clone" (EAGAIN, ENOMEM): preparation in the caller;
//   - any step of 2..10 above, with the errno the child saw, e.g. "setpgid",
//     "redirect stdout", "setrlimit RLIMIT_MEMLOCK 65536", "setrlimit RLIMIT_NOFILE"
//     (EPERM raising the hard limit, EINVAL soft above hard), "oom_score_adj 500",
//     "setgroups 1,2" ("setgroups" for none), "setgid 65534", "setuid 65534" (EPERM without
//     CAP_SETUID), "prctl PR_SET_KEEPCAPS", "capset CAP_IPC_LOCK" (EPERM when the supervisor lacks
//     it), "ambient raise CAP_IPC_LOCK", "chdir /nope" (ENOENT, EACCES, ENOTDIR), "exec /usr/bin/x"
//     (ENOENT, EACCES, ENOEXEC, ...).
// Side effects on the caller: none that outlive the call. It blocks all signals while the
// child borrows its memory and restores its mask afterwards; errno may change.
// Not async-signal-safe: do not call it from a signal handler.
mlock::Result<SpawnedProcess, SpawnError> spawn_process(const SpawnRequest& request);

namespace spawn_detail {
// As if clone3 had refused CLONE_INTO_CGROUP for good with `error_number` (0: try it again),
// for tests of the way without it.
void set_clone3_refused(int error_number);
}  // namespace spawn_detail

}  // namespace duende::supervisor
