// Restarts of a child that keeps exiting: the backoff (restart_sec doubling up to
// restart_max_sec, reset after a long enough run) and the start limit.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "supervisor_rig.hpp"

namespace duende::supervisor {
namespace {

using std::chrono::milliseconds;
using test::FakeSystem;
using test::SupervisorRig;

// The gaps between consecutive spawns of `name`.
std::vector<Clock::duration> spawn_gaps(const SupervisorRig& rig, const std::string& name) {
  const auto spawns = rig.fake.spawns_of(name);
  std::vector<Clock::duration> gaps;
  for (std::size_t i = 1; i < spawns.size(); ++i) gaps.push_back(spawns[i].at - spawns[i - 1].at);
  return gaps;
}

constexpr const char* kCrasher = R"({"children": {"crasher": {
    "exec": ["/bin/crasher"], "ready": "exec", "restart_sec": 0.1, "restart_max_sec": 1,
    "start_limit_burst": 100}}})";

TEST(ChildBackoff, DoublesFromRestartSecUpToRestartMaxSec) {
  SupervisorRig rig(kCrasher);
  rig.fake.exit_new_processes_after(Clock::duration::zero(), {false, 1});
  rig.sup().start();

  ASSERT_TRUE(rig.fake.run_until([&] { return rig.fake.spawns_of("crasher").size() == 7; },
                                 std::chrono::seconds(10)));

  EXPECT_EQ(
      spawn_gaps(rig, "crasher"),
      (std::vector<Clock::duration>{milliseconds(100), milliseconds(200), milliseconds(400),
                                    milliseconds(800), milliseconds(1000), milliseconds(1000)}));
  EXPECT_EQ(rig.state("crasher"), ChildState::Running);  // the 7th, just spawned
  EXPECT_EQ(rig.child("crasher").restarts(), 6u);
  EXPECT_EQ(rig.child("crasher").last_exit_status(), 1);
  EXPECT_EQ(rig.child("crasher").last_failure(), "exited with status 1");
}

TEST(ChildBackoff, ResetsToRestartSecAfterTheChildStayedReadyForRestartMaxSec) {
  SupervisorRig rig(kCrasher);
  rig.fake.exit_new_processes_after(Clock::duration::zero(), {false, 1});
  rig.sup().start();
  ASSERT_TRUE(rig.fake.run_until([&] { return rig.fake.spawns_of("crasher").size() == 4; },
                                 std::chrono::seconds(10)));  // gaps 0.1, 0.2, 0.4 so far

  // The fourth process runs (and is ready) for 0.999 s: not long enough to reset.
  rig.fake.exit_new_processes_after(std::nullopt);
  ASSERT_TRUE(rig.fake.run_until([&] { return rig.fake.spawns_of("crasher").size() == 5; },
                                 std::chrono::seconds(10)));
  rig.fake.advance(milliseconds(999));
  rig.fake.exit(rig.fake.last_pid("crasher"), 1);
  ASSERT_TRUE(rig.fake.run_until([&] { return rig.fake.spawns_of("crasher").size() == 6; },
                                 std::chrono::seconds(10)));

  // The sixth runs for exactly restart_max_sec: the next delay is restart_sec again.
  rig.fake.advance(milliseconds(1000));
  rig.fake.exit(rig.fake.last_pid("crasher"), 1);
  ASSERT_TRUE(rig.fake.run_until([&] { return rig.fake.spawns_of("crasher").size() == 7; },
                                 std::chrono::seconds(10)));

  const auto gaps = spawn_gaps(rig, "crasher");
  ASSERT_EQ(gaps.size(), 6u);
  EXPECT_EQ(gaps[3], milliseconds(800));         // backoff went on: 0.8
  EXPECT_EQ(gaps[4], milliseconds(999 + 1000));  // ran 0.999 s, then the cap (1 s)
  EXPECT_EQ(gaps[5], milliseconds(1000 + 100));  // ran 1 s, then restart_sec again
}

// A child that was ready once, long ago, and now crash-loops before it gets ready must back
// off as any other: the old readiness must not reset the backoff at every failure.
TEST(ChildBackoff, KeepsGrowingForFailuresBeforeReadyLongAfterAnEarlierReadiness) {
  SupervisorRig rig(R"({"children": {"svc": {
      "exec": ["/bin/svc"], "ready": "notify", "restart_sec": 0.1, "restart_max_sec": 1,
      "start_limit_burst": 100}}})");
  rig.sup().start();
  rig.send("svc", "READY=1");
  ASSERT_EQ(rig.state("svc"), ChildState::Running);
  rig.fake.advance(std::chrono::seconds(5));
  // From now on every process dies at once, before READY=1.
  rig.fake.exit_new_processes_after(Clock::duration::zero(), {false, 2});
  rig.fake.exit(rig.fake.last_pid("svc"), 1);

  ASSERT_TRUE(rig.fake.run_until([&] { return rig.fake.spawns_of("svc").size() == 5; },
                                 std::chrono::seconds(10)));

  const auto gaps = spawn_gaps(rig, "svc");
  ASSERT_EQ(gaps.size(), 4u);
  EXPECT_EQ(gaps[0], std::chrono::seconds(5) + milliseconds(100));  // ran 5 s: reset, fine
  EXPECT_EQ(gaps[1], milliseconds(200));
  EXPECT_EQ(gaps[2], milliseconds(400));
  EXPECT_EQ(gaps[3], milliseconds(800));
}

constexpr const char* kLimited = R"({"children": {"flaky": {
    "exec": ["/bin/flaky"], "ready": "exec", "restart_sec": 1, "restart_max_sec": 1,
    "start_limit_burst": 3, "start_limit_interval_sec": 60,
    "mlock": {"required": false}}}})";

TEST(ChildStartLimit, FailsOnceBurstStartsHappenedWithinTheInterval) {
  SupervisorRig rig(kLimited);
  rig.fake.exit_new_processes_after(Clock::duration::zero(), {false, 1});
  rig.sup().start();

  ASSERT_TRUE(rig.fake.run_until([&] { return rig.state("flaky") == ChildState::Failed; },
                                 std::chrono::seconds(60)));

  EXPECT_EQ(rig.fake.spawns_of("flaky").size(), 3u);
  EXPECT_EQ(rig.fake.now() - FakeSystem::kStart, std::chrono::seconds(3));  // 3rd backoff ends
  EXPECT_EQ(rig.child("flaky").last_failure(),
            "start limit hit: more than 3 starts in 60 s; last: exited with status 1");
  EXPECT_EQ(rig.log.containing("flaky: start limit hit").size(), 1u);
  rig.fake.advance(std::chrono::seconds(120));
  EXPECT_EQ(rig.fake.spawns_of("flaky").size(), 3u);  // gave up: no timer left
  EXPECT_EQ(rig.sup().state(), ManagerState::Degraded);
}

TEST(ChildStartLimit, ManualStartClearsTheLimitAndSpawnsAgain) {
  SupervisorRig rig(kLimited);
  rig.fake.exit_new_processes_after(Clock::duration::zero(), {false, 1});
  rig.sup().start();
  ASSERT_TRUE(rig.fake.run_until([&] { return rig.state("flaky") == ChildState::Failed; },
                                 std::chrono::seconds(60)));
  rig.fake.exit_new_processes_after(std::nullopt);

  const auto result = rig.sup().start_child("flaky");

  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_EQ(rig.fake.spawns_of("flaky").size(), 4u);
  EXPECT_EQ(rig.fake.spawns_of("flaky").back().at, rig.fake.now());
  EXPECT_EQ(rig.state("flaky"), ChildState::Running);
  EXPECT_EQ(rig.sup().state(), ManagerState::Running);
}

}  // namespace
}  // namespace duende::supervisor
