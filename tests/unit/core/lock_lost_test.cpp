// The monitor finds a running child no longer locked (VmLck 0 or pages in swap): warn
// keeps it running and flags it, restart replaces the process.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include "supervisor_rig.hpp"

namespace duende::supervisor {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::SupervisorRig;

constexpr const char* kLockedReport = "X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=4096\n";

std::string config(const char* on_lock_lost) {
  return std::string(R"({"monitor_interval_sec": 0.5, "children": {"pinned": {
      "exec": ["/bin/pinned"], "ready": "locked", "on_lock_lost": ")") +
         on_lock_lost + R"("}}})";
}

// Starts "pinned" and makes it ready and locked (VmLck 4096).
void start_locked(SupervisorRig& rig) {
  rig.fake.set_new_process_memory({.locked_bytes = 4096});
  rig.sup().start();
  rig.send("pinned", kLockedReport);
  ASSERT_EQ(rig.state("pinned"), ChildState::Running);
  ASSERT_EQ(rig.sup().state(), ManagerState::Running);
}

TEST(ChildLockLost, WarnKeepsItRunningFlaggedAndLogs) {
  SupervisorRig rig(config("warn"));
  start_locked(rig);
  const pid_t pid = rig.fake.last_pid("pinned");
  rig.fake.advance(milliseconds(500));
  EXPECT_FALSE(rig.child("pinned").lock_lost());

  rig.fake.set_locked_bytes(pid, 0);
  rig.fake.advance(milliseconds(500));  // the next monitor tick

  EXPECT_TRUE(rig.child("pinned").lock_lost());
  EXPECT_EQ(rig.state("pinned"), ChildState::Running);
  EXPECT_EQ(rig.child("pinned").pid(), pid);
  EXPECT_TRUE(rig.fake.signals().empty());
  EXPECT_EQ(rig.log.containing("lost its lock"),
            (std::vector<std::string>{"pinned: lost its lock: VmLck 0 KiB, VmSwap 0 KiB"}));
  EXPECT_EQ(rig.sup().state(), ManagerState::Degraded);
  EXPECT_EQ(rig.fake.service_messages_starting("STATUS=").back(),
            "STATUS=degraded: pinned lost its lock");

  rig.fake.advance(seconds(5));  // still lost: logged once
  EXPECT_EQ(rig.log.containing("lost its lock").size(), 1u);

  rig.fake.set_locked_bytes(pid, 8192);
  rig.fake.advance(milliseconds(500));
  EXPECT_FALSE(rig.child("pinned").lock_lost());
  EXPECT_EQ(rig.sup().state(), ManagerState::Running);
  EXPECT_EQ(rig.log.containing("pinned: locked again").size(), 1u);
}

TEST(ChildLockLost, SwappedPagesCountAsALostLock) {
  SupervisorRig rig(config("warn"));
  start_locked(rig);
  const pid_t pid = rig.fake.last_pid("pinned");

  rig.fake.set_memory(pid, {.locked_bytes = 4096, .swapped_bytes = 8192});
  rig.fake.advance(milliseconds(500));

  EXPECT_TRUE(rig.child("pinned").lock_lost());
  EXPECT_EQ(rig.log.containing("lost its lock"),
            (std::vector<std::string>{"pinned: lost its lock: VmLck 4 KiB, VmSwap 8 KiB"}));
}

TEST(ChildLockLost, RestartSignalsTheProcessAndSpawnsANewOne) {
  SupervisorRig rig(config("restart"));
  start_locked(rig);
  const pid_t pid = rig.fake.last_pid("pinned");
  EXPECT_EQ(rig.child("pinned").restarts(), 0u);

  rig.fake.set_locked_bytes(pid, 0);
  rig.fake.advance(milliseconds(500));  // tick: SIGTERM; then it dies and is replaced

  EXPECT_EQ(rig.fake.signals_to(pid), (std::vector<int>{SIGTERM}));
  ASSERT_EQ(rig.fake.spawns_of("pinned").size(), 2u);
  const pid_t next = rig.fake.last_pid("pinned");
  EXPECT_NE(next, pid);
  EXPECT_EQ(rig.child("pinned").pid(), next);
  EXPECT_EQ(rig.child("pinned").restarts(), 1u);
  EXPECT_EQ(rig.state("pinned"), ChildState::Starting);
  EXPECT_FALSE(rig.child("pinned").lock_lost());
  EXPECT_EQ(
      rig.log.containing("lost its lock"),
      (std::vector<std::string>{"pinned: lost its lock: VmLck 0 KiB, VmSwap 0 KiB; restarting"}));

  rig.send("pinned", kLockedReport);  // the new one locks (VmLck 4096 by default)
  EXPECT_EQ(rig.state("pinned"), ChildState::Running);
  EXPECT_EQ(rig.sup().state(), ManagerState::Running);
}

// A region munlock()ed while VmLck stays above 0: the smaps walk finds unlocked mappings.
// A lost lock for a child whose lock covers every mapping (future), not for one that
// locked only what it had (current): its later mappings are unlocked by design.
TEST(ChildLockLost, UnlockedMappingsAreALostLockOnlyUnderAFutureLock) {
  for (const bool future : {true, false}) {
    SCOPED_TRACE(future ? "future" : "current only");
    SupervisorRig rig(std::string(R"({"monitor_interval_sec": 0.5, "full_check_interval_sec": 1,
        "children": {"pinned": {"exec": ["/bin/pinned"], "ready": "locked",
        "mlock": {"future": )") +
                      (future ? "true" : "false") + "}}}}");
    start_locked(rig);
    const pid_t pid = rig.fake.last_pid("pinned");
    rig.fake.set_memory(pid, {.locked_bytes = 4096,
                              .coverage_checked = true,
                              .fully_locked = false,
                              .lockable_mappings = 40,
                              .unlocked_mappings = 3});
    rig.fake.advance(seconds(2));  // a full check
    EXPECT_EQ(rig.child("pinned").lock_lost(), future);
    EXPECT_EQ(rig.child("pinned").unlocked_mappings(), future ? 3u : 0u);
    EXPECT_EQ(rig.sup().state(), future ? ManagerState::Degraded : ManagerState::Running);
    EXPECT_EQ(rig.log.containing("3 of 40 lockable mappings unlocked").size(), future ? 1u : 0u);
  }
}

}  // namespace
}  // namespace duende::supervisor
