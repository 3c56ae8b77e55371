// Real mlockall() in forked children, checked from outside through /proc.
#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include <cerrno>
#include <cstring>

#include "duende/mlock.hpp"
#include "forked_child.hpp"
#include "privilege.hpp"
#include "proc_peek.hpp"

namespace duende::mlock {
namespace {

using test::ForkedChild;

// "ok <status text>" or "err <kind> <errno> <message>" for a lock attempt.
std::string describe(const Result<MlockStatus, MlockError>& r) {
  if (r) return "ok " + r->to_string();
  return "err " + std::to_string(static_cast<int>(r.error().kind())) + " " +
         std::to_string(r.error().error_number()) + " " + r.error().message();
}

constexpr int kPermissionDenied = static_cast<int>(MlockError::Kind::PermissionDenied);
constexpr int kResourceLimit = static_cast<int>(MlockError::Kind::ResourceLimit);

TEST(LockAll, LocksTheProcessAsSeenFromOutside) {
  DUENDE_REQUIRE_LOCKING();
  ForkedChild child([] { return describe(lock_all()); });
  ASSERT_EQ(child.message().rfind("ok locked (", 0), 0u) << child.message();
  EXPECT_GT(test::vm_lck(child.pid()), 1024u * 1024) << "VmLck of pid " << child.pid();
  EXPECT_GT(test::smaps_flag_count(child.pid(), "lo"), 10);
}

TEST(LockAll, ReportedBytesMatchVmLck) {
  DUENDE_REQUIRE_LOCKING();
  ForkedChild child([] {
    const auto r = lock_all();
    return r ? std::to_string(r->bytes_locked()) : describe(r);
  });
  const auto reported = std::stoull(child.message());
  const auto seen = test::vm_lck(child.pid());
  EXPECT_EQ(reported, seen);
  EXPECT_EQ(locked_bytes(), 0u) << "the test runner itself must stay unlocked";
}

TEST(LockWithConfig, FutureCountsMemoryMappedAfterLocking) {
  DUENDE_REQUIRE_LOCKING();
  ForkedChild child([] {
    const auto r = lock_with_config(MlockConfig::builder().current(true).future(true).build());
    const auto before = locked_bytes();
    void* p = mmap(nullptr, 32 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!r || p == MAP_FAILED) return std::string("setup failed ") + describe(r);
    return std::to_string(locked_bytes() - before);
  });
  EXPECT_GE(std::stoull(child.message()), 32ull << 20) << child.message();
}

TEST(LockWithConfig, CurrentOnlyDoesNotCountLaterMappings) {
  DUENDE_REQUIRE_LOCKING();
  ForkedChild child([] {
    const auto r = lock_with_config(MlockConfig::builder().current(true).future(false).build());
    const auto before = locked_bytes();
    void* p = mmap(nullptr, 32 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!r || p == MAP_FAILED) return std::string("setup failed ") + describe(r);
    return std::to_string(locked_bytes() - before);
  });
  EXPECT_LT(std::stoull(child.message()), 32ull << 20) << child.message();
}

TEST(LockWithConfig, NoFlagsReturnsLockedZeroWithoutLocking) {
  ForkedChild child([] {
    return describe(lock_with_config(MlockConfig::builder().current(false).future(false).build()));
  });
  EXPECT_EQ(child.message(), "ok locked (0 KB)");
  EXPECT_EQ(test::vm_lck(child.pid()), 0u);
}

TEST(LockWithConfig, OnfaultLocksOnFirstTouch) {
  DUENDE_REQUIRE_LOCKING();
  ForkedChild child(
      [] { return describe(lock_with_config(MlockConfig::builder().onfault(true).build())); });
  ASSERT_EQ(child.message().rfind("ok locked (", 0), 0u) << child.message();
  // This kernel (>= 4.4) supports MCL_ONFAULT: nothing dropped, mappings marked "lf".
  EXPECT_EQ(child.message().find("without MCL_ONFAULT"), std::string::npos);
  EXPECT_GT(test::smaps_flag_count(child.pid(), "lf"), 0);
  EXPECT_GT(test::vm_lck(child.pid()), 0u);
}

TEST(LockWithConfig, IoFlusherSetsTheProcessFlag) {
  DUENDE_REQUIRE_LOCKING();
  if (!test::has_capability(CAP_SYS_RESOURCE))
    GTEST_SKIP() << "needs CAP_SYS_RESOURCE, which this machine withholds even from root";
  ForkedChild child([] {
    const auto r = lock_with_config(MlockConfig::builder().io_flusher(true).build());
    return describe(r) +
           " flusher=" + std::to_string(prctl(58 /* PR_GET_IO_FLUSHER */, 0, 0, 0, 0));
  });
  EXPECT_NE(child.message().find("flusher=1"), std::string::npos) << child.message();
}

TEST(LockWithConfig, IoFlusherWithoutCapabilityIsAnErrorWhenRequired) {
  DUENDE_REQUIRE_LOCKING();
  ForkedChild child([] {
    test::drop_capability(CAP_SYS_RESOURCE);
    const auto r = lock_with_config(MlockConfig::builder().io_flusher(true).build());
    if (r) return describe(r);
    return std::string(r.error().operation() == MlockError::Operation::IoFlusher ? "io " : "? ") +
           r.error().message();
  });
  EXPECT_EQ(child.message().rfind("io prctl(PR_SET_IO_FLUSHER) failed", 0), 0u) << child.message();
}

TEST(LockWithConfig, RetainHeapKeepsFreedMemoryResident) {
  DUENDE_SKIP_IF_SANITIZED("ASan replaces glibc's malloc, which mallopt() tunes");
  auto rss_after_free = [](bool retain) {
    ForkedChild child([retain] {
      (void)lock_with_config(
          MlockConfig::builder().current(false).future(false).retain_heap(retain).build());
      const std::size_t size = 64 << 20;
      char* p = static_cast<char*>(malloc(size));
      memset(p, 1, size);
      asm volatile("" : : "r"(p) : "memory");  // keep the compiler from eliding the block
      free(p);
      return std::string("done");
    });
    EXPECT_EQ(child.message(), "done");
    return test::status_field(child.pid(), "VmRSS").value_or(0);
  };
  EXPECT_GE(rss_after_free(true), 64ull << 20);
  EXPECT_LT(rss_after_free(false), 32ull << 20);
}

TEST(UnlockAll, BringsVmLckBackToZero) {
  DUENDE_REQUIRE_LOCKING();
  ForkedChild child([] {
    const auto locked = lock_all();
    const auto during = locked_bytes();
    const auto unlocked = unlock_all();
    return std::to_string(locked.has_value() && unlocked.has_value()) + " " +
           std::to_string(during > 0) + " " + std::to_string(is_locked());
  });
  EXPECT_EQ(child.message(), "1 1 0");
  EXPECT_EQ(test::vm_lck(child.pid()), 0u);
}

TEST(LockAll, WithoutCapabilityAndZeroLimitIsPermissionDenied) {
  DUENDE_REQUIRE_LOCKING();
  ForkedChild child([] {
    if (!test::make_unprivileged(0)) return std::string("setup failed");
    return describe(lock_all());
  });
  EXPECT_EQ(child.message().rfind("err " + std::to_string(kPermissionDenied) + " " +
                                      std::to_string(EPERM) + " mlockall failed",
                                  0),
            0u)
      << child.message();
  EXPECT_NE(child.message().find("CAP_IPC_LOCK"), std::string::npos);
  EXPECT_EQ(test::vm_lck(child.pid()), 0u);
}

TEST(LockAll, OverTheLimitIsResourceLimit) {
  DUENDE_REQUIRE_LOCKING();
  ForkedChild child([] {
    if (!test::make_unprivileged(64 * 1024)) return std::string("setup failed");
    return describe(lock_all());
  });
  EXPECT_EQ(child.message().rfind(
                "err " + std::to_string(kResourceLimit) + " " + std::to_string(ENOMEM), 0),
            0u)
      << child.message();
  EXPECT_NE(child.message().find("LimitMEMLOCK=infinity"), std::string::npos);
}

TEST(LockWithConfig, NotRequiredTurnsFailureIntoFailedStatus) {
  DUENDE_REQUIRE_LOCKING();
  ForkedChild child([] {
    if (!test::make_unprivileged(0)) return std::string("setup failed");
    return describe(lock_with_config(MlockConfig::builder().required(false).build()));
  });
  EXPECT_EQ(child.message(), "ok failed (errno=" + std::to_string(EPERM) + ")");
}

}  // namespace
}  // namespace duende::mlock
