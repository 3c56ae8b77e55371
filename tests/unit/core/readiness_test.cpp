// When a started child counts as ready: at once (exec), on READY=1 (notify), or once it
// reported its lock and /proc agrees (locked); and what happens when that never comes.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "supervisor_rig.hpp"

namespace duende::supervisor {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::FakeSystem;
using test::SupervisorRig;

constexpr const char* kLockedReport = "X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=4096\n";

TEST(ChildReadiness, ExecIsRunningAsSoonAsSpawned) {
  SupervisorRig rig(R"({"children": {"c": {"exec": ["/bin/c", "-x"], "ready": "exec"}}})");
  rig.sup().start();

  EXPECT_EQ(rig.state("c"), ChildState::Running);
  ASSERT_EQ(rig.fake.spawns().size(), 1u);
  const auto& spawn = rig.fake.spawns()[0];
  EXPECT_EQ(spawn.log_identifier, "c");
  EXPECT_EQ(spawn.request.argv, (std::vector<std::string>{"/bin/c", "-x"}));
  EXPECT_EQ(spawn.at, FakeSystem::kStart);
  const auto& env = spawn.request.env;
  EXPECT_NE(std::find(env.begin(), env.end(), "NOTIFY_SOCKET=/run/test/notify"), env.end());
  EXPECT_NE(std::find(env.begin(), env.end(), "LD_PRELOAD=/preload.so"), env.end());
  EXPECT_EQ(rig.child("c").pid(), spawn.pid);
}

constexpr const char* kNotify = R"({"children": {"n": {
    "exec": ["/bin/n"], "ready": "notify", "start_timeout_sec": 5, "stop_signal": "SIGINT",
    "restart": "no"}}})";

TEST(ChildReadiness, NotifyIsRunningOnReadyFromItsOwnProcess) {
  SupervisorRig rig(kNotify);
  rig.sup().start();
  rig.fake.advance(seconds(4));
  EXPECT_EQ(rig.state("n"), ChildState::Starting);

  rig.send("n", "STATUS=warming up");
  EXPECT_EQ(rig.state("n"), ChildState::Starting);
  rig.send("n", "READY=1");

  EXPECT_EQ(rig.state("n"), ChildState::Running);
  rig.fake.advance(seconds(10));  // the start timeout was cancelled
  EXPECT_EQ(rig.state("n"), ChildState::Running);
  EXPECT_TRUE(rig.fake.signals().empty());
}

TEST(ChildReadiness, NotifyWithoutReadyWithinStartTimeoutFailsWithStopSignal) {
  SupervisorRig rig(kNotify);
  rig.fake.set_new_process_on_signal(FakeSystem::OnSignal::Ignores);
  rig.sup().start();
  const pid_t pid = rig.fake.last_pid("n");

  rig.fake.advance(milliseconds(4999));
  EXPECT_EQ(rig.state("n"), ChildState::Starting);
  EXPECT_TRUE(rig.fake.signals().empty());
  rig.fake.advance(milliseconds(1));

  EXPECT_EQ(rig.state("n"), ChildState::Stopping);
  EXPECT_EQ(rig.fake.signals(), (std::vector<FakeSystem::SignalRecord>{{pid, SIGINT}}));
  EXPECT_EQ(rig.child("n").last_failure().rfind("start timeout: no READY=1", 0), 0u)
      << rig.child("n").last_failure();
  EXPECT_EQ(rig.child("n").last_failure(), "start timeout: no READY=1 within 5 s");

  rig.fake.kill_by_signal(pid, SIGINT);
  EXPECT_EQ(rig.state("n"), ChildState::Failed);
  EXPECT_EQ(rig.child("n").last_exit_status(), -SIGINT);
}

constexpr const char* kLocked = R"({"children": {"l": {
    "exec": ["/bin/l"], "ready": "locked", "start_timeout_sec": 5, "restart": "no"}}})";

TEST(ChildReadiness, LockedNeedsTheReportAndLockedBytesInProc) {
  SupervisorRig rig(kLocked);
  rig.sup().start();
  const pid_t pid = rig.fake.last_pid("l");

  rig.send("l", kLockedReport);  // /proc still shows VmLck 0
  EXPECT_EQ(rig.state("l"), ChildState::Starting);
  EXPECT_EQ(rig.child("l").lock_report_text(), "locked (4 KiB)");

  rig.fake.set_locked_bytes(pid, 8192);
  rig.fake.advance(milliseconds(999));
  EXPECT_EQ(rig.state("l"), ChildState::Starting);
  rig.fake.advance(milliseconds(1));  // the monitor reads /proc again

  EXPECT_EQ(rig.state("l"), ChildState::Running);
  EXPECT_EQ(rig.child("l").memory().locked_bytes, 8192u);
  EXPECT_TRUE(rig.child("l").is_locked());
}

TEST(ChildReadiness, LockedProcWithoutAReportIsNotReady) {
  SupervisorRig rig(kLocked);
  rig.fake.set_new_process_memory({.locked_bytes = 4096});
  rig.sup().start();

  rig.fake.advance(seconds(3));  // the monitor sees VmLck, but nothing was reported
  EXPECT_EQ(rig.state("l"), ChildState::Starting);
  rig.send("l", kLockedReport);

  EXPECT_EQ(rig.state("l"), ChildState::Running);
}

TEST(ChildReadiness, LockedFailedReportFailsTheStart) {
  SupervisorRig rig(kLocked);
  rig.fake.set_new_process_memory({.locked_bytes = 4096});
  rig.sup().start();
  const pid_t pid = rig.fake.last_pid("l");

  // Within the round (no advance): the start fails and the process is told to stop.
  rig.sup().on_datagram(Datagram{pid, "X_DUENDE_MLOCK=failed\nX_DUENDE_MLOCK_ERRNO=1\n", false});

  EXPECT_EQ(rig.state("l"), ChildState::Stopping);
  EXPECT_EQ(rig.fake.signals_to(pid), (std::vector<int>{SIGTERM}));
  EXPECT_EQ(rig.child("l").last_failure(), "lock: Operation not permitted");
  rig.fake.advance(milliseconds(1));
  EXPECT_EQ(rig.state("l"), ChildState::Failed);
  EXPECT_EQ(rig.sup().state(), ManagerState::Degraded);
}

TEST(ChildReadiness, LockedWithoutReportTimesOutNamingTheMissingReport) {
  SupervisorRig rig(kLocked);
  rig.sup().start();

  rig.fake.advance(milliseconds(4999));
  EXPECT_EQ(rig.state("l"), ChildState::Starting);
  rig.fake.advance(milliseconds(1));  // SIGTERM at the timeout; it dies of it

  EXPECT_EQ(rig.fake.signals_to(rig.fake.last_pid("l")), (std::vector<int>{SIGTERM}));
  EXPECT_EQ(rig.state("l"), ChildState::Failed);
  EXPECT_EQ(rig.child("l").last_failure(),
            "start timeout: not locked within 5 s (no lock report: is preload on, or does the "
            "program link libduende-mlock?)");
}

}  // namespace
}  // namespace duende::supervisor
