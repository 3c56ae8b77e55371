// inspect_detail() of real processes: a partial lock named, the memlock limit read, the
// counts as inspect() gives them, gone processes reported.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "duende/mlock.hpp"
#include "forked_child.hpp"
#include "privilege.hpp"
#include "proc_peek.hpp"

namespace duende::mlock {
namespace {

constexpr std::size_t kMiB = 1024 * 1024;

TEST(InspectDetail, NamesTheRegionAChildUnlockedAfterMlockall) {
  DUENDE_REQUIRE_LOCKING();
  test::ForkedChild child([] {
    if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) return std::string("mlockall failed");
    // 4 MiB between two locked pages, so the unlocked part is a mapping of its own.
    const long page = sysconf(_SC_PAGESIZE);
    auto* base = static_cast<char*>(mmap(nullptr, 4 * kMiB + 2 * page, PROT_READ | PROT_WRITE,
                                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (base == MAP_FAILED) return std::string("mmap failed");
    char* region = base + page;
    std::memset(region, 1, 4 * kMiB);
    if (munlock(region, 4 * kMiB) != 0) return std::string("munlock failed");
    char range[64];
    std::snprintf(range, sizeof range, "%lx-%lx", reinterpret_cast<unsigned long>(region),
                  reinterpret_cast<unsigned long>(region + 4 * kMiB));
    return std::string(range);
  });
  const std::string range = child.message();
  ASSERT_NE(range.find('-'), std::string::npos) << range;

  const auto d = inspect_detail(child.pid());
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->pid, child.pid());
  EXPECT_EQ(d->unlocked_mappings, 1u);
  EXPECT_FALSE(d->fully_locked());
  EXPECT_GE(d->resident_unlocked_bytes, 4 * kMiB);
  EXPECT_EQ(d->first_unlocked_mapping, range + " rw-p");
  EXPECT_GT(d->locked_bytes, 0u);
  EXPECT_LE(d->locked_bytes, test::vm_lck(child.pid())) << "Locked: is resident, VmLck virtual";
}

TEST(InspectDetail, ReadsTheSoftMemlockLimit) {
  test::ForkedChild child([] {
    const rlimit limit{1 * kMiB, 2 * kMiB};
    return std::string(setrlimit(RLIMIT_MEMLOCK, &limit) == 0 ? "ok" : "setrlimit failed");
  });
  ASSERT_EQ(child.message(), "ok");
  const auto d = inspect_detail(child.pid());
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->memlock_limit_bytes, 1 * kMiB);
}

TEST(InspectDetail, UnlimitedMemlockLimitIsNullopt) {
  test::ForkedChild child([] {
    const rlimit limit{RLIM_INFINITY, RLIM_INFINITY};
    return std::string(setrlimit(RLIMIT_MEMLOCK, &limit) == 0 ? "ok" : std::strerror(errno));
  });
  if (child.message() != "ok")
    GTEST_SKIP() << "cannot raise RLIMIT_MEMLOCK to unlimited here: " << child.message();
  const auto d = inspect_detail(child.pid());
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->memlock_limit_bytes, std::nullopt);
}

TEST(InspectDetail, UnlockedChildHasEveryLockableMappingResidentUnlocked) {
  test::ForkedChild child([] { return std::string("ok"); });
  ASSERT_EQ(child.message(), "ok");
  const auto d = inspect_detail(child.pid());
  const auto m = inspect(child.pid(), true);
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_TRUE(m) << m.error().message;
  // The child is blocked in read(): its map does not change between the two walks.
  EXPECT_EQ(d->lockable_mappings, m->lockable_mappings);
  EXPECT_EQ(d->unlocked_mappings, m->unlocked_mappings);
  EXPECT_EQ(d->unlocked_mappings, d->lockable_mappings);
  EXPECT_EQ(d->locked_bytes, 0u);
  EXPECT_GT(d->resident_unlocked_bytes, 0u);
  EXPECT_LE(d->resident_unlocked_bytes, m->resident_bytes + 64 * 1024)
      << "Rss of the lockable mappings is within VmRSS (give or take the gate pages)";
  EXPECT_FALSE(d->first_unlocked_mapping.empty());
  EXPECT_GE(d->swapped_bytes, d->swapped_shmem_bytes);
}

TEST(InspectDetail, VanishedProcessIsEsrch) {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  const auto r = inspect_detail(pid);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error_number, ESRCH);
  EXPECT_EQ(r.error().message, "pid " + std::to_string(pid) + ": no such process");
}

TEST(InspectDetail, ZombieIsEsrch) {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  siginfo_t info{};
  waitid(P_PID, pid, &info, WEXITED | WNOWAIT);
  const auto r = inspect_detail(pid);
  waitpid(pid, nullptr, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error_number, ESRCH);
}

TEST(InspectDetail, InvalidPidAndKernelThreadAreEinval) {
  for (pid_t pid : {0, -1}) {
    const auto r = inspect_detail(pid);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().error_number, EINVAL);
  }
  const auto kthread = test::status_field(2, "Kthread");
  if (!kthread || *kthread != 1) return;
  const auto r = inspect_detail(2);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error_number, EINVAL);
}

TEST(InspectDetail, UnreadableSmapsIsEacces) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to another user";
  const pid_t target = getpid();
  test::ForkedChild child([target] {
    if (setgid(65534) != 0 || setuid(65534) != 0) return std::string("setup failed");
    const auto r = inspect_detail(target);
    return r ? std::string("read it") : std::to_string(r.error().error_number);
  });
  EXPECT_EQ(child.message(), std::to_string(EACCES));
}

}  // namespace
}  // namespace duende::mlock
