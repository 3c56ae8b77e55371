// MlockConfig::relock_after_fork(): a locked process forks, and its child's VmLck, read
// from outside (/proc/CHILD/status) while the child waits on a pipe, says whether the
// child locked itself again. Real fork(), real mlockall(); the test runner itself never
// locks (each locking parent is a ForkedChild), and the preload shim is checked through
// /bin/sh, whose background job is a fork() without execve().
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "duende/mlock.h"
#include "duende/mlock.hpp"
#include "forked_child.hpp"
#include "privilege.hpp"
#include "proc_peek.hpp"

namespace duende::mlock {
namespace {

using test::ForkedChild;

// What the locked parent saw of its own fork()ed child: "parent=<VmLck> child=<VmLck>
// lo=<mappings locked> lf=<mappings locked on fault> errno=<child's errno after fork>".
// Runs in the (locked) parent; the child waits on a pipe until the parent has looked.
std::string fork_and_look() {
  int gate[2], report[2];
  if (pipe(gate) != 0 || pipe(report) != 0) return "pipe failed";
  errno = EDOM;  // the child handler must leave errno as fork() found it
  const pid_t pid = fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    const int child_errno = errno;
    (void)!write(report[1], &child_errno, sizeof child_errno);
    close(gate[1]);
    char c;
    while (read(gate[0], &c, 1) > 0) {
    }
    _exit(0);
  }
  close(gate[0]);
  close(report[1]);
  int child_errno = -1;
  if (read(report[0], &child_errno, sizeof child_errno) != sizeof child_errno)
    return "no report from the child";
  // The child is past fork() (it wrote), so its handler has run: look now.
  const std::string seen = "parent=" + std::to_string(test::vm_lck(getpid())) +
                           " child=" + std::to_string(test::vm_lck(pid)) +
                           " lo=" + std::to_string(test::smaps_flag_count(pid, "lo")) +
                           " lf=" + std::to_string(test::smaps_flag_count(pid, "lf")) +
                           " errno=" + std::to_string(child_errno);
  close(gate[1]);
  int status = 0;
  waitpid(pid, &status, 0);
  return seen;
}

// The number after `key=` in fork_and_look()'s text; -1 when missing.
long long field(const std::string& text, const std::string& key) {
  const auto at = text.find(key + "=");
  if (at == std::string::npos) return -1;
  return std::stoll(text.substr(at + key.size() + 1));
}

std::string lock_then_fork(const MlockConfig& config) {
  const auto r = lock_with_config(config);
  if (!r) return "lock failed: " + r.error().message();
  return fork_and_look();
}

TEST(RelockAfterFork, ChildOfALockedParentIsLockedByDefault) {
  DUENDE_REQUIRE_LOCKING();
  ForkedChild parent([] { return lock_then_fork(MlockConfig()); });
  const std::string& seen = parent.message();
  EXPECT_GT(field(seen, "parent"), 1024 * 1024) << seen;
  EXPECT_GT(field(seen, "child"), 1024 * 1024) << seen;
  EXPECT_GT(field(seen, "lo"), 10) << seen;
  // MCL_ONFAULT in the child (VM_LOCKONFAULT, "lf"), though the parent locked fully.
  EXPECT_EQ(field(seen, "lf"), field(seen, "lo")) << seen;
  EXPECT_EQ(field(seen, "errno"), EDOM) << seen;
}

TEST(RelockAfterFork, ChildIsUnlockedWithTheOptionOff) {
  DUENDE_REQUIRE_LOCKING();
  ForkedChild parent(
      [] { return lock_then_fork(MlockConfig::builder().relock_after_fork(false).build()); });
  const std::string& seen = parent.message();
  EXPECT_GT(field(seen, "parent"), 1024 * 1024) << seen;
  EXPECT_EQ(field(seen, "child"), 0) << seen;
  EXPECT_EQ(field(seen, "lo"), 0) << seen;
}

TEST(RelockAfterFork, NeedsFuture) {
  DUENDE_REQUIRE_LOCKING();
  ForkedChild parent([] { return lock_then_fork(MlockConfig::builder().future(false).build()); });
  const std::string& seen = parent.message();
  EXPECT_GT(field(seen, "parent"), 1024 * 1024) << seen;
  EXPECT_EQ(field(seen, "child"), 0) << seen;
}

TEST(RelockAfterFork, FutureOnlyParentGivesAFutureOnlyChild) {
  DUENDE_REQUIRE_LOCKING();
  ForkedChild parent([] {
    const auto r = lock_with_config(MlockConfig::builder().current(false).build());
    if (!r) return "lock failed: " + r.error().message();
    // Mapped after the lock: locked in the parent; the child's copy is not faulted in.
    void* p = mmap(nullptr, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return std::string("mmap failed");
    return fork_and_look();
  });
  const std::string& seen = parent.message();
  EXPECT_GE(field(seen, "parent"), 4 << 20) << seen;
  // MCL_FUTURE without MCL_CURRENT: the child's existing mappings stay unlocked.
  EXPECT_EQ(field(seen, "child"), 0) << seen;
}

TEST(RelockAfterFork, UnlockAllStopsIt) {
  DUENDE_REQUIRE_LOCKING();
  ForkedChild parent([] {
    const auto r = lock_with_config(MlockConfig());
    if (!r) return "lock failed: " + r.error().message();
    if (!unlock_all()) return std::string("unlock failed");
    return fork_and_look();
  });
  const std::string& seen = parent.message();
  EXPECT_EQ(field(seen, "parent"), 0) << seen;
  EXPECT_EQ(field(seen, "child"), 0) << seen;
}

TEST(RelockAfterFork, TheLastLockDecides) {
  DUENDE_REQUIRE_LOCKING();
  ForkedChild parent([] {
    const auto on = lock_with_config(MlockConfig());
    const auto off = lock_with_config(MlockConfig::builder().relock_after_fork(false).build());
    if (!on || !off) return std::string("lock failed");
    const std::string first = fork_and_look();
    const auto again = lock_with_config(MlockConfig());
    if (!again) return std::string("lock failed");
    return first + " | " + fork_and_look();
  });
  const std::string& seen = parent.message();
  const auto bar = seen.find(" | ");
  ASSERT_NE(bar, std::string::npos) << seen;
  EXPECT_EQ(field(seen.substr(0, bar), "child"), 0) << seen;
  EXPECT_GT(field(seen.substr(bar), "child"), 1024 * 1024) << seen;
}

TEST(RelockAfterFork, CApiChoosesIt) {
  DUENDE_REQUIRE_LOCKING();
  ForkedChild parent([] {
    duende_mlock_config config;
    duende_mlock_config_init(&config);
    duende_mlock_status status;
    if (duende_mlock_lock_with_config_relock(&config, false, &status) != 0)
      return std::string("lock failed");
    const std::string off = fork_and_look();
    if (duende_mlock_lock_with_config(&config, &status) != 0) return std::string("lock failed");
    const std::string by_default = fork_and_look();
    if (duende_mlock_lock_with_config_relock(nullptr, true, &status) != EINVAL)
      return std::string("NULL config accepted");
    return off + " | " + by_default;
  });
  const std::string& seen = parent.message();
  const auto bar = seen.find(" | ");
  ASSERT_NE(bar, std::string::npos) << seen;
  EXPECT_EQ(field(seen.substr(0, bar), "child"), 0) << seen;
  EXPECT_GT(field(seen.substr(bar), "child"), 1024 * 1024) << seen;
}

// ---- The preload shim: /bin/sh under LD_PRELOAD, with a background job ----

struct ShellFork {
  long long shell_locked = -1;  // VmLck of the shell (locked by the shim)
  long long job_locked = -1;    // VmLck of its fork()ed job (a builtin: no execve())
  int exit_code = -1;
};

// Runs `sh -c '{ echo >&4; read x <&3; } & echo $!; wait'` with the shim and
// `extra_env`: the job (a forked shell running builtins) says on fd 4 that it is past
// fork(), then blocks reading fd 3 (a pipe held here) while its VmLck is read.
ShellFork shell_forks_under_shim(const std::string& extra_env) {
  ShellFork out;
  int gate[2], out_pipe[2], ready[2];
  if (pipe2(gate, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0 ||
      pipe2(ready, O_CLOEXEC) != 0)
    return out;
  const std::string preload = "LD_PRELOAD=" DUENDE_PRELOAD_PATH;
  fflush(nullptr);
  const pid_t shell = fork();
  if (shell < 0) return out;
  if (shell == 0) {
    // Out of the way of 1, 3 and 4 first (the pipes may sit there), then into place.
    const int out_end = fcntl(out_pipe[1], F_DUPFD_CLOEXEC, 20);
    const int gate_end = fcntl(gate[0], F_DUPFD_CLOEXEC, 20);
    const int ready_end = fcntl(ready[1], F_DUPFD_CLOEXEC, 20);
    if (dup2(out_end, 1) < 0 || dup2(gate_end, 3) < 0 || dup2(ready_end, 4) < 0) _exit(126);
    char* argv[] = {const_cast<char*>("/bin/sh"), const_cast<char*>("-c"),
                    const_cast<char*>("{ echo >&4; read x <&3; } & echo $!; wait"), nullptr};
    char* envp[] = {const_cast<char*>(preload.c_str()), const_cast<char*>(extra_env.c_str()),
                    nullptr};
    if (extra_env.empty()) envp[1] = nullptr;
    execve(argv[0], argv, envp);
    _exit(127);
  }
  close(gate[0]);
  close(out_pipe[1]);
  close(ready[1]);
  std::string text;
  char c;
  while (read(out_pipe[0], &c, 1) == 1 && c != '\n') text += c;
  const bool job_ready = read(ready[0], &c, 1) == 1;
  close(ready[0]);
  if (!text.empty() && job_ready) {
    const pid_t job = static_cast<pid_t>(std::stol(text));
    out.shell_locked = static_cast<long long>(test::vm_lck(shell));
    out.job_locked = static_cast<long long>(test::vm_lck(job));
  }
  close(gate[1]);  // the job reads EOF and exits; the shell's wait returns
  close(out_pipe[0]);
  int status = 0;
  waitpid(shell, &status, 0);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

TEST(PreloadShimRelock, ForkedChildOfAShimLockedProgramIsLocked) {
  DUENDE_REQUIRE_LOCKING();
  const ShellFork r = shell_forks_under_shim("");
  EXPECT_GT(r.shell_locked, 1024 * 1024);
  EXPECT_GT(r.job_locked, 1024 * 1024) << "VmLck of the shell's fork()ed job";
  EXPECT_EQ(r.exit_code, 0);
}

TEST(PreloadShimRelock, RelockAfterFork0LeavesTheChildUnlocked) {
  DUENDE_REQUIRE_LOCKING();
  const ShellFork r = shell_forks_under_shim("DUENDE_MLOCK_RELOCK_AFTER_FORK=0");
  EXPECT_GT(r.shell_locked, 1024 * 1024);
  EXPECT_EQ(r.job_locked, 0) << "VmLck of the shell's fork()ed job";
  EXPECT_EQ(r.exit_code, 0);
}

}  // namespace
}  // namespace duende::mlock
