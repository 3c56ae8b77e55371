// The clone child of spawn_process() (the trampoline): what runs between clone() and execve().
//
// Internal to spawn.cpp and spawn_trampoline.cpp. The child shares the caller's memory (CLONE_VM)
// until it execs, so everything it needs lives in a TrampolinePlan the caller fills in first;
// the child only reads the plan, makes raw system calls and writes back into the plan what
// the caller must know: a warning to log, or, on failure, the step and errno before
// _exit(127). It never writes to its stderr: a full pipe there would suspend the caller
// (CLONE_VFORK) for as long as the pipe's reader does not read.
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstddef>
#include <string>

namespace duende::supervisor::spawn_detail {

// The child's steps, in the order it takes them; the failing one is reported.
enum class TrampolineStep : int {
  None = 0,  // no failure: the child exec'd (or was killed before it could report)
  JoinCgroup,
  ProcessGroup,
  RedirectStdin,
  RedirectStdout,
  RedirectStderr,
  MemlockLimit,
  NofileLimit,
  OpenOomScoreAdj,
  OomScoreAdj,
  KeepCaps,
  Groups,
  Gid,
  Uid,
  Capabilities,
  AmbientCapability,
  WorkingDirectory,
  Exec,
};

struct TrampolinePlan {
  // Filled in by the caller before clone().
  char* const* argv = nullptr;  // argv[0] is the program's path
  char* const* envp = nullptr;
  const char* working_directory = nullptr;
  sigset_t empty_mask{};
  int cgroup_procs_fd = -1;  // cgroup.procs of the child's cgroup, or -1
  int stdin_fd = -1;         // /dev/null
  int stdout_fd = -1;        // -1 = keep; otherwise >= 3, so dup2() never aliases its target
  int stderr_fd = -1;
  bool set_memlock = false;
  rlimit memlock{};
  bool set_nofile = false;
  rlimit nofile{};
  bool set_oom_score_adj = false;
  std::string oom_score_adj_text;
  bool set_ids = false;  // setgroups, then the gid and uid below when set
  const gid_t* groups = nullptr;
  std::size_t group_count = 0;
  bool set_gid = false;
  gid_t gid = 0;
  bool set_uid = false;
  uid_t uid = 0;
  bool ambient_ipc_lock = false;  // only when set_uid and uid != 0

  // Written by the child when it started anyway, short of what was asked.
  bool memlock_soft_only = false;  // no CAP_SYS_RESOURCE: soft limit = the hard limit below
  rlim_t memlock_hard_limit = 0;
  int oom_score_adj_errno = 0;  // EACCES or EPERM: lowering oom_score_adj was refused

  // Written by the child when a step fails.
  TrampolineStep failed_step = TrampolineStep::None;
  int error_number = 0;
};

// The clone() entry point: `plan` is a TrampolinePlan*. Never returns: execs or _exit(127)s.
int trampoline_main(void* plan);

}  // namespace duende::supervisor::spawn_detail
