// The child half of spawn_process(). It runs on a borrowed stack in the caller's memory,
// with the caller's thread-local storage (errno included), before execve(). Rules here:
// no allocation, no locks, no exceptions, nothing that touches state the caller owns
// except the TrampolinePlan's fields written by the child; credentials change through raw
// system calls, because glibc's setuid() family would signal the caller's threads (setxid
// broadcast). Nothing is written to the child's stderr: the caller is suspended until
// execve(), and a full pipe there would keep it suspended.
#include "os/spawn_trampoline.hpp"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

// Every function here goes uninstrumented by AddressSanitizer: before each call of a
// noreturn function (fail(), _exit()) it would call __asan_handle_no_return(), which finds
// this borrowed stack unknown and says so on stderr, once per process: a write that, to a
// full pipe, would block the child and so the suspended caller for good.
#define DUENDE_TRAMPOLINE __attribute__((no_sanitize_address))

namespace duende::supervisor::spawn_detail {
namespace {

// Records the failing step with errno, read first thing, and ends the child.
[[noreturn]] DUENDE_TRAMPOLINE void fail(TrampolinePlan& plan, TrampolineStep step) {
  plan.error_number = errno;
  plan.failed_step = step;
  _exit(127);
}

// Dispositions first, then the mask: the caller blocked every signal around clone(), so
// none can reach a handler of the caller's while this child runs on its memory.
DUENDE_TRAMPOLINE void reset_signals(TrampolinePlan& plan) {
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &default_action, nullptr);  // EINVAL for glibc's internal signals: fine
  }
  sigprocmask(SIG_SETMASK, &plan.empty_mask, nullptr);
}

DUENDE_TRAMPOLINE void redirect_stdio(TrampolinePlan& plan) {
  if (dup2(plan.stdin_fd, STDIN_FILENO) < 0) fail(plan, TrampolineStep::RedirectStdin);
  if (plan.stdout_fd >= 0 && dup2(plan.stdout_fd, STDOUT_FILENO) < 0)
    fail(plan, TrampolineStep::RedirectStdout);
  if (plan.stderr_fd >= 0 && dup2(plan.stderr_fd, STDERR_FILENO) < 0)
    fail(plan, TrampolineStep::RedirectStderr);
  // Whatever the caller left without O_CLOEXEC (inherited from systemd, say) stays out of
  // the program. Before Linux 5.11 this fails with EINVAL; the caller's fds are CLOEXEC.
  close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
}

DUENDE_TRAMPOLINE void apply_memlock_limit(TrampolinePlan& plan) {
  if (setrlimit(RLIMIT_MEMLOCK, &plan.memlock) == 0) return;
  if (errno != EPERM) fail(plan, TrampolineStep::MemlockLimit);
  // Raising the hard limit needs CAP_SYS_RESOURCE: take as much as the hard limit allows.
  rlimit limit{};
  if (getrlimit(RLIMIT_MEMLOCK, &limit) != 0) fail(plan, TrampolineStep::MemlockLimit);
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_MEMLOCK, &limit) != 0) fail(plan, TrampolineStep::MemlockLimit);
  plan.memlock_soft_only = true;
  plan.memlock_hard_limit = limit.rlim_max;
}

DUENDE_TRAMPOLINE void apply_oom_score_adj(TrampolinePlan& plan) {
  const int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail(plan, TrampolineStep::OpenOomScoreAdj);
  const std::string& text = plan.oom_score_adj_text;
  const ssize_t n = write(fd, text.data(), text.size());
  const int error = n < 0 ? errno : EIO;
  close(fd);
  if (n == static_cast<ssize_t>(text.size())) return;
  if (n < 0 && (error == EACCES || error == EPERM)) {
    plan.oom_score_adj_errno = error;  // the child starts anyway; the caller warns
    return;
  }
  errno = error;
  fail(plan, TrampolineStep::OomScoreAdj);
}

DUENDE_TRAMPOLINE void apply_ids(TrampolinePlan& plan) {
  // Root's capabilities would all be dropped by setuid() to a non-root user; keep them
  // so that CAP_IPC_LOCK can be made ambient afterwards.
  if (plan.ambient_ipc_lock && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
    fail(plan, TrampolineStep::KeepCaps);
  if (syscall(SYS_setgroups, plan.group_count, plan.groups) != 0)
    fail(plan, TrampolineStep::Groups);
  if (plan.set_gid && syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) != 0)
    fail(plan, TrampolineStep::Gid);
  if (plan.set_uid && syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) != 0)
    fail(plan, TrampolineStep::Uid);
}

// CAP_IPC_LOCK becomes the only permitted, effective and inheritable capability, then
// ambient: execve() of a non-setuid program by a non-root user keeps ambient capabilities.
DUENDE_TRAMPOLINE void raise_ambient_ipc_lock(TrampolinePlan& plan) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  const std::uint32_t bit = 1u << CAP_IPC_LOCK;  // CAP_IPC_LOCK < 32: in data[0]
  data[0].permitted = data[0].effective = data[0].inheritable = bit;
  if (syscall(SYS_capset, &header, data) != 0) fail(plan, TrampolineStep::Capabilities);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_IPC_LOCK, 0, 0) != 0)
    fail(plan, TrampolineStep::AmbientCapability);
}

}  // namespace

DUENDE_TRAMPOLINE int trampoline_main(void* arg) {
  TrampolinePlan& plan = *static_cast<TrampolinePlan*>(arg);
  reset_signals(plan);
  // First, before it can fork anything: "0" moves the writer itself, so every process it
  // ever starts is born in its cgroup.
  if (plan.cgroup_procs_fd >= 0 && write(plan.cgroup_procs_fd, "0", 1) != 1)
    fail(plan, TrampolineStep::JoinCgroup);
  if (setpgid(0, 0) != 0) fail(plan, TrampolineStep::ProcessGroup);
  redirect_stdio(plan);
  // All need privileges (CAP_SYS_RESOURCE, to raise) that setuid() below may drop.
  if (plan.set_memlock) apply_memlock_limit(plan);
  if (plan.set_nofile && setrlimit(RLIMIT_NOFILE, &plan.nofile) != 0)
    fail(plan, TrampolineStep::NofileLimit);
  if (plan.set_oom_score_adj) apply_oom_score_adj(plan);
  if (plan.set_ids) apply_ids(plan);
  if (plan.ambient_ipc_lock) raise_ambient_ipc_lock(plan);
  if (chdir(plan.working_directory) != 0) fail(plan, TrampolineStep::WorkingDirectory);
  execve(plan.argv[0], plan.argv, plan.envp);
  fail(plan, TrampolineStep::Exec);
}

}  // namespace duende::supervisor::spawn_detail
