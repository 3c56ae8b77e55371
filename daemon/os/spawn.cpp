// The caller half of spawn_process(): prepares everything the child needs, clones it with
// CLONE_VM | CLONE_VFORK | CLONE_PIDFD (and, by clone3, CLONE_INTO_CGROUP) and turns a
// failure the child recorded into an error.
//
// Failure reporting goes through the shared TrampolinePlan instead of a CLOEXEC pipe: with
// CLONE_VM the child writes straight into the caller's memory, and CLONE_VFORK resumes the
// caller only after the child exec'd or exited, so the plan is settled when clone()
// returns (glibc's posix_spawn does the same). That saves a pipe and its reads per spawn.
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>

#include "os/raw_clone.hpp"
#include "os/spawn.hpp"
#include "os/spawn_trampoline.hpp"

namespace duende::supervisor {
namespace {

using spawn_detail::TrampolinePlan;
using spawn_detail::TrampolineStep;

// The child makes a few system calls on this stack and then execs.
constexpr std::size_t kChildStackSize = 64 * 1024;

mlock::Unexpected<SpawnError> failure(std::string step, int error_number) {
  return mlock::Unexpected<SpawnError>(SpawnError{std::move(step), error_number});
}

// Closes a descriptor this call created, unless it was handed out.
class OwnedFd {
 public:
  explicit OwnedFd(int fd = -1) : fd_(fd) {}
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  ~OwnedFd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }
  void reset(int fd) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

// The child's stack: mmap'd (locked too, when the caller runs under MCL_FUTURE) and
// unmapped once clone() returned, which under CLONE_VFORK is after the child left it.
class ChildStack {
 public:
  ChildStack()
      : base_(mmap(nullptr, kChildStackSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0)) {}
  ChildStack(const ChildStack&) = delete;
  ChildStack& operator=(const ChildStack&) = delete;
  ~ChildStack() {
    if (!ok()) return;
#if defined(__SANITIZE_ADDRESS__)
    // The child's frames poisoned ASan's (shared) shadow of this stack and it exec'd
    // without unwinding them; a later mapping at the same address would inherit that.
    __asan_unpoison_memory_region(base_, kChildStackSize);
#endif
    munmap(base_, kChildStackSize);
  }
  bool ok() const { return base_ != MAP_FAILED; }
  void* base() const { return base_; }
  void* top() const { return static_cast<char*>(base_) + kChildStackSize; }

 private:
  void* base_;
};

std::string memlock_text(rlim_t bytes) {
  return bytes == RLIM_INFINITY ? "infinity" : std::to_string(bytes);
}

std::string join_ids(const std::vector<gid_t>& ids) {
  std::string text;
  for (const gid_t id : ids) text += (text.empty() ? "" : ",") + std::to_string(id);
  return text;
}

// The name of the child's failing step, as SpawnError::step shows it.
std::string step_name(TrampolineStep step, const SpawnRequest& request) {
  switch (step) {
    case TrampolineStep::None:
      break;
    case TrampolineStep::JoinCgroup:
      return "join cgroup " + request.cgroup;
    case TrampolineStep::ProcessGroup:
      return "setpgid";
    case TrampolineStep::RedirectStdin:
      return "redirect stdin";
    case TrampolineStep::RedirectStdout:
      return "redirect stdout";
    case TrampolineStep::RedirectStderr:
      return "redirect stderr";
    case TrampolineStep::MemlockLimit:
      return "setrlimit RLIMIT_MEMLOCK " + memlock_text(request.memlock_limit.value_or(0));
    case TrampolineStep::NofileLimit:
      return "setrlimit RLIMIT_NOFILE";
    case TrampolineStep::OpenOomScoreAdj:
      return "open /proc/self/oom_score_adj";
    case TrampolineStep::OomScoreAdj:
      return "oom_score_adj " + std::to_string(request.oom_score_adj.value_or(0));
    case TrampolineStep::KeepCaps:
      return "prctl PR_SET_KEEPCAPS";
    case TrampolineStep::Groups:
      return request.supplementary_groups.empty()
                 ? "setgroups"
                 : "setgroups " + join_ids(request.supplementary_groups);
    case TrampolineStep::Gid:
      return "setgid " + std::to_string(request.gid.value_or(0));
    case TrampolineStep::Uid:
      return "setuid " + std::to_string(request.uid.value_or(0));
    case TrampolineStep::Capabilities:
      return "capset CAP_IPC_LOCK";
    case TrampolineStep::AmbientCapability:
      return "ambient raise CAP_IPC_LOCK";
    case TrampolineStep::WorkingDirectory:
      return "chdir " + request.working_directory;
    case TrampolineStep::Exec:
      return "exec " + request.argv[0];
  }
  return "spawn";
}

bool has_nul(const std::string& s) { return s.find('\0') != std::string::npos; }

// The request's own mistakes, found before anything is created.
std::optional<SpawnError> check_request(const SpawnRequest& request) {
  if (request.argv.empty()) return SpawnError{"exec", EINVAL};
  const std::string& path = request.argv[0];
  bool bad = path.empty() || path[0] != '/' || has_nul(request.working_directory);
  for (const auto& s : request.argv) bad = bad || has_nul(s);
  for (const auto& s : request.env) bad = bad || has_nul(s);
  if (bad) return SpawnError{"exec " + path, EINVAL};
  return std::nullopt;
}

// A NULL-terminated char* array pointing into `strings`, which must outlive it.
std::vector<char*> c_array(const std::vector<std::string>& strings) {
  std::vector<char*> array;
  array.reserve(strings.size() + 1);
  for (const auto& s : strings) array.push_back(const_cast<char*>(s.c_str()));
  array.push_back(nullptr);
  return array;
}

// A copy of `fd` numbered >= 3, so the child's dup2() onto 0..2 never meets itself.
int copy_above_stdio(int fd) { return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 3); }

void plan_limits(const SpawnRequest& request, TrampolinePlan& plan) {
  if (request.memlock_limit) {
    plan.set_memlock = true;
    plan.memlock = {*request.memlock_limit, *request.memlock_limit};
  }
  if (request.nofile_limit) {
    plan.set_nofile = true;
    plan.nofile = *request.nofile_limit;
  }
  if (request.oom_score_adj) {
    plan.set_oom_score_adj = true;
    plan.oom_score_adj_text = std::to_string(*request.oom_score_adj);
  }
}

// What the child recorded that it started without (it writes nothing itself).
std::vector<std::string> warnings_of(const TrampolinePlan& plan, const SpawnRequest& request) {
  std::vector<std::string> warnings;
  if (plan.memlock_soft_only)
    warnings.push_back("cannot raise RLIMIT_MEMLOCK to " +
                       memlock_text(request.memlock_limit.value_or(0)) +
                       ": Operation not permitted (needs CAP_SYS_RESOURCE); using the hard limit " +
                       memlock_text(plan.memlock_hard_limit));
  if (plan.oom_score_adj_errno != 0)
    warnings.push_back("cannot set oom_score_adj " + plan.oom_score_adj_text + ": " +
                       std::strerror(plan.oom_score_adj_errno) + " (needs CAP_SYS_RESOURCE)");
  return warnings;
}

void plan_credentials(const SpawnRequest& request, TrampolinePlan& plan) {
  plan.set_ids = request.uid.has_value() || request.gid.has_value();
  plan.groups = request.supplementary_groups.data();
  plan.group_count = request.supplementary_groups.size();
  plan.set_gid = request.gid.has_value();
  plan.gid = request.gid.value_or(0);
  plan.set_uid = request.uid.has_value();
  plan.uid = request.uid.value_or(0);
  plan.ambient_ipc_lock = request.ambient_ipc_lock && plan.set_uid && plan.uid != 0;
}

// 0 while clone3 may start children in their cgroups; the errno with which it said it
// cannot at all (ENOSYS: no clone3, or a seccomp filter refusing it as systemd's
// RestrictNamespaces= does; E2BIG: a kernel before 5.7, without clone_args.cgroup), after
// which every start goes to clone() at once.
std::atomic<int> clone3_refused{0};

struct Cloned {
  pid_t pid = -1;
  int error_number = 0;  // clone()'s, when pid < 0 and the plan names no failed step
  int clone3_error = 0;  // why clone3 did not start it in its cgroup; 0 if it did or no cgroup
};

// Clones the child with every signal blocked, so that no handler of ours can run in the
// child while it borrows our memory; the child unblocks after resetting dispositions.
// `cgroup_fd` >= 0: clone3 starts it in that cgroup, or, where clone3 cannot or will not,
// clone() starts it and it joins the cgroup itself through `procs_fd`, opened here (a failed
// open is the plan's JoinCgroup failure, and no child is started).
Cloned clone_trampoline(TrampolinePlan& plan, const ChildStack& stack, int cgroup_fd, int* pidfd,
                        OwnedFd& procs_fd) {
  sigset_t all, previous;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &previous);
  Cloned out;
  if (cgroup_fd >= 0) out.clone3_error = clone3_refused.load(std::memory_order_relaxed);
  if (cgroup_fd >= 0 && out.clone3_error == 0) {
    clone_args args{};
    args.flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_INTO_CGROUP;
    args.pidfd = reinterpret_cast<std::uintptr_t>(pidfd);
    args.exit_signal = SIGCHLD;
    args.stack = reinterpret_cast<std::uintptr_t>(stack.base());
    args.stack_size = kChildStackSize;
    args.cgroup = static_cast<std::uint64_t>(cgroup_fd);
    plan.cgroup_procs_fd = -1;
    out.pid = static_cast<pid_t>(
        spawn_detail::raw_clone3(&args, sizeof args, spawn_detail::trampoline_main, &plan));
    const int error = errno;  // the child shared our errno: read it before anything else
    if (out.pid < 0) out.clone3_error = error;
    if (out.pid < 0 && (error == ENOSYS || error == E2BIG))
      clone3_refused.store(error, std::memory_order_relaxed);
    // Any other refusal (a removed cgroup: ENODEV; one with controllers: EBUSY; ...) is
    // left to the write below, which names the cgroup step with its own errno.
  }
  if (out.pid < 0 && cgroup_fd >= 0) {
    procs_fd.reset(openat(cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC));
    plan.cgroup_procs_fd = procs_fd.get();
    if (procs_fd.get() < 0) {
      plan.failed_step = TrampolineStep::JoinCgroup;
      plan.error_number = errno;
    }
  }
  if (out.pid < 0 && plan.failed_step == TrampolineStep::None) {
    out.pid = clone(spawn_detail::trampoline_main, stack.top(),
                    CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &plan, pidfd);
    out.error_number = errno;
  }
  sigprocmask(SIG_SETMASK, &previous, nullptr);
  return out;
}

// Reaps a child that failed before exec.
void reap(int pidfd) {
  siginfo_t info{};
  while (waitid(kIdPidfd, static_cast<id_t>(pidfd), &info, WEXITED) != 0 && errno == EINTR) {
  }
}

}  // namespace

void spawn_detail::set_clone3_refused(int error_number) {
  clone3_refused.store(error_number, std::memory_order_relaxed);
}

std::string SpawnError::message() const { return step + ": " + std::strerror(error_number); }

mlock::Result<SpawnedProcess, SpawnError> spawn_process(const SpawnRequest& request) {
  if (auto error = check_request(request)) return mlock::Unexpected<SpawnError>(*error);
  const OwnedFd dev_null(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (dev_null.get() < 0) return failure("open /dev/null", errno);
  const OwnedFd out(copy_above_stdio(request.stdout_fd));
  if (request.stdout_fd >= 0 && out.get() < 0)
    return failure("dup stdout fd " + std::to_string(request.stdout_fd), errno);
  const OwnedFd err(copy_above_stdio(request.stderr_fd));
  if (request.stderr_fd >= 0 && err.get() < 0)
    return failure("dup stderr fd " + std::to_string(request.stderr_fd), errno);

  const std::vector<char*> argv = c_array(request.argv);
  const std::vector<char*> envp = c_array(request.env);
  TrampolinePlan plan;
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.working_directory = request.working_directory.c_str();
  sigemptyset(&plan.empty_mask);
  plan.stdin_fd = dev_null.get();
  plan.stdout_fd = out.get();
  plan.stderr_fd = err.get();
  plan_limits(request, plan);
  plan_credentials(request, plan);

  const ChildStack stack;
  if (!stack.ok()) return failure("mmap child stack", errno);
  int pidfd = -1;
  OwnedFd procs_fd;  // only where the child must join its cgroup itself
  const Cloned cloned = clone_trampoline(plan, stack, request.cgroup_fd, &pidfd, procs_fd);
  const pid_t pid = cloned.pid;
  if (pid < 0 && plan.failed_step == TrampolineStep::JoinCgroup)
    return failure(step_name(plan.failed_step, request), plan.error_number);
  if (pid < 0) return failure("clone", cloned.error_number);
  if (plan.failed_step != TrampolineStep::None) {
    reap(pidfd);
    close(pidfd);
    return failure(step_name(plan.failed_step, request), plan.error_number);
  }
  SpawnedProcess spawned;
  spawned.pid = pid;
  spawned.pidfd = pidfd;
  spawned.born_in_cgroup = request.cgroup_fd >= 0 && cloned.clone3_error == 0;
  spawned.clone3_error = cloned.clone3_error;
  try {
    spawned.warnings = warnings_of(plan, request);
  } catch (const std::bad_alloc&) {
    // The child runs: losing its warnings beats losing track of it.
  }
  return spawned;
}

}  // namespace duende::supervisor
