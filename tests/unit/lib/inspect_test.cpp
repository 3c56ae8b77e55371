// inspect() of real processes: locked, unlocked, gone, zombie, forbidden.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "duende/mlock.hpp"
#include "forked_child.hpp"
#include "privilege.hpp"
#include "proc_peek.hpp"

namespace duende::mlock {
namespace {

TEST(Inspect, TellsLockedFromUnlockedProcess) {
  DUENDE_REQUIRE_LOCKING();
  test::ForkedChild locked([] { return std::string(lock_all() ? "ok" : "failed"); });
  test::ForkedChild unlocked([] { return std::string("ok"); });
  ASSERT_EQ(locked.message(), "ok");
  ASSERT_EQ(unlocked.message(), "ok");

  const auto l = inspect(locked.pid(), true);
  const auto u = inspect(unlocked.pid(), true);
  ASSERT_TRUE(l) << l.error().message;
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(l->pid, locked.pid());
  EXPECT_EQ(l->locked_bytes, test::vm_lck(locked.pid()));
  EXPECT_GT(l->locked_bytes, 0u);
  EXPECT_GT(l->resident_bytes, 0u);
  EXPECT_TRUE(l->coverage_checked);
  EXPECT_TRUE(l->fully_locked);
  EXPECT_EQ(l->unlocked_mappings, 0u);

  EXPECT_EQ(u->locked_bytes, 0u);
  EXPECT_FALSE(u->fully_locked);
  EXPECT_EQ(u->unlocked_mappings, u->lockable_mappings);
}

TEST(Inspect, WithoutCoverageSkipsSmaps) {
  const auto r = inspect(getpid());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->coverage_checked);
  EXPECT_GT(r->resident_bytes, 0u);
  EXPECT_EQ(r->locked_bytes, 0u) << "the test runner is not locked";
}

TEST(Inspect, VanishedProcessIsEsrchNotZero) {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  const auto r = inspect(pid, true);
  ASSERT_FALSE(r) << "VmLck " << r->locked_bytes;
  EXPECT_EQ(r.error().error_number, ESRCH);
  EXPECT_EQ(r.error().message, "pid " + std::to_string(pid) + ": no such process");
}

TEST(Inspect, ZombieIsEsrch) {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  siginfo_t info{};
  waitid(P_PID, pid, &info, WEXITED | WNOWAIT);  // exited, not reaped: a zombie
  const auto r = inspect(pid);
  waitpid(pid, nullptr, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error_number, ESRCH);
  EXPECT_NE(r.error().message.find("zombie"), std::string::npos) << r.error().message;
}

TEST(Inspect, InvalidPidIsEinval) {
  for (pid_t pid : {0, -1}) {
    const auto r = inspect(pid);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().error_number, EINVAL);
  }
}

TEST(Inspect, KernelThreadIsEinval) {
  const auto comm = test::status_field(2, "Kthread");
  if (!comm || *comm != 1) GTEST_SKIP() << "pid 2 is not a visible kernel thread here";
  const auto r = inspect(2);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error_number, EINVAL);
  EXPECT_EQ(r.error().message, "pid 2: a kernel thread has no user memory");
}

TEST(Inspect, UnreadableSmapsIsEaccesNotZero) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to another user";
  const pid_t target = getpid();
  test::ForkedChild child([target] {
    if (setgid(65534) != 0 || setuid(65534) != 0) return std::string("setup failed");
    const auto r = inspect(target, true);
    return r ? std::string("read it") : std::to_string(r.error().error_number);
  });
  EXPECT_EQ(child.message(), std::to_string(EACCES));
}

}  // namespace
}  // namespace duende::mlock
