// The manager's own state and what the service manager is told: READY=1 once every child
// settled its first start, STATUS= lines, degraded on a failed child, STOPPING=1.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "supervisor_rig.hpp"

namespace duende::supervisor {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::SupervisorRig;

long count(const std::vector<std::string>& v, const std::string& s) {
  return std::count(v.begin(), v.end(), s);
}

constexpr const char* kTwo = R"({"children": {
    "a": {"exec": ["/bin/a"], "ready": "notify", "mlock": {"required": false}},
    "b": {"exec": ["/bin/b"], "ready": "exec", "restart": "no", "mlock": {"required": false}}}})";

TEST(SupervisorState, StartingUntilEveryChildIsReadyThenRunningWithOneReady) {
  SupervisorRig rig(kTwo);
  rig.sup().start();

  EXPECT_EQ(rig.sup().state(), ManagerState::Starting);
  EXPECT_EQ(count(rig.fake.service_messages(), "READY=1"), 0);
  rig.send("a", "READY=1");

  EXPECT_EQ(rig.sup().state(), ManagerState::Running);
  EXPECT_EQ(count(rig.fake.service_messages(), "READY=1"), 1);
  EXPECT_EQ(rig.fake.service_messages_starting("STATUS=").back(),
            "STATUS=0/2 children locked, 2 running, 0 B pinned");

  rig.send("a", "READY=1");
  rig.fake.advance(seconds(10));
  EXPECT_EQ(count(rig.fake.service_messages(), "READY=1"), 1);
  // STATUS= only when the line changes.
  const auto statuses = rig.fake.service_messages_starting("STATUS=");
  EXPECT_EQ(std::adjacent_find(statuses.begin(), statuses.end()), statuses.end());
}

TEST(SupervisorState, FailedChildMakesItDegradedWithItsReason) {
  SupervisorRig rig(kTwo);
  rig.sup().start();
  rig.send("a", "READY=1");
  ASSERT_EQ(rig.sup().state(), ManagerState::Running);

  rig.fake.exit(rig.fake.last_pid("b"), 3);
  rig.fake.advance(SystemdNotifier::kStatusInterval);  // STATUS= is coalesced

  EXPECT_EQ(rig.state("b"), ChildState::Failed);
  EXPECT_EQ(rig.sup().state(), ManagerState::Degraded);
  const std::string status = rig.fake.service_messages_starting("STATUS=").back();
  EXPECT_EQ(status.rfind("STATUS=degraded: b failed:", 0), 0u) << status;
  EXPECT_EQ(status, "STATUS=degraded: b failed: exited with status 3");
  EXPECT_EQ(rig.sup().status_line(), "degraded: b failed: exited with status 3");
}

TEST(SupervisorState, FirstStartFailureInBackoffCountsAsSettledForReady) {
  SupervisorRig rig(kTwo);
  rig.fake.fail_next_spawn({"exec /bin/a", ENOENT});  // "a" starts first
  rig.sup().start();

  // "a" (restart on-failure) waits in backoff: its first start has settled, and a child
  // in backoff is trouble.
  EXPECT_EQ(rig.state("a"), ChildState::Backoff);
  EXPECT_EQ(rig.sup().state(), ManagerState::Degraded);
  EXPECT_EQ(rig.sup().status_line(),
            "degraded: a restarting after: exec /bin/a: No such file or directory");
  EXPECT_EQ(count(rig.fake.service_messages(), "READY=1"), 1);
  EXPECT_EQ(rig.fake.spawns_of("a")[0].pid, 0);
}

TEST(SupervisorState, ShutdownIsStoppingAndSendsStopping) {
  SupervisorRig rig(kTwo);
  rig.sup().start();
  rig.send("a", "READY=1");

  rig.sup().shutdown();
  EXPECT_EQ(rig.sup().state(), ManagerState::Stopping);
  rig.fake.advance(SystemdNotifier::kStatusInterval);  // STATUS= is coalesced

  const auto& messages = rig.fake.service_messages();
  EXPECT_EQ(count(messages, "STOPPING=1"), 1);
  const auto ready = std::find(messages.begin(), messages.end(), "READY=1");
  const auto stopping = std::find(messages.begin(), messages.end(), "STOPPING=1");
  EXPECT_LT(ready, stopping);
  EXPECT_EQ(rig.fake.service_messages_starting("STATUS=").back(), "STATUS=stopping");
  rig.fake.advance(milliseconds(1));
  EXPECT_TRUE(rig.sup().finished());
  EXPECT_EQ(rig.sup().state(), ManagerState::Stopping);
}

TEST(SupervisorState, WatchdogKeepAliveEveryHalfPeriod) {
  test::LogCapture log;
  test::FakeSystem fake;
  fake.set_watchdog_period(std::chrono::microseconds(2'000'000));
  Supervisor sup(
      fake, test::config_from_json(R"({"children": {}})"), [] { return ConfigResult(Config{}); },
      test::kNotifySocket, test::kPreload);
  sup.start();
  // One at once: an image that a re-exec just started owes systemd a keep-alive.
  EXPECT_EQ(count(fake.service_messages(), "WATCHDOG=1"), 1);

  fake.advance(milliseconds(3500));  // and at 1 s, 2 s, 3 s

  EXPECT_EQ(count(fake.service_messages(), "WATCHDOG=1"), 4);
}

}  // namespace
}  // namespace duende::supervisor
