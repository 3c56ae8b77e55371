// `after` ordering: a child starts only once those it is ordered after are ready (or
// settled), and shutdown stops them in reverse order.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <vector>

#include "supervisor_rig.hpp"

namespace duende::supervisor {
namespace {

using test::FakeSystem;
using test::SupervisorRig;

constexpr const char* kChain = R"({"children": {
    "b": {"exec": ["/bin/b"], "ready": "exec", "after": ["a"]},
    "a": {"exec": ["/bin/a"], "ready": "notify"}}})";

TEST(SupervisorStartOrder, StartsAChildOnlyOnceThoseItIsAfterAreReady) {
  SupervisorRig rig(kChain);
  rig.sup().start();

  EXPECT_EQ(rig.fake.spawns_of("a").size(), 1u);
  EXPECT_EQ(rig.fake.spawns_of("b").size(), 0u);
  EXPECT_EQ(rig.state("a"), ChildState::Starting);
  EXPECT_EQ(rig.state("b"), ChildState::Stopped);
  rig.fake.advance(std::chrono::seconds(5));
  EXPECT_EQ(rig.fake.spawns_of("b").size(), 0u);

  rig.send("a", "READY=1");

  EXPECT_EQ(rig.state("a"), ChildState::Running);
  ASSERT_EQ(rig.fake.spawns_of("b").size(), 1u);
  EXPECT_EQ(rig.fake.spawns_of("b")[0].at, FakeSystem::kStart + std::chrono::seconds(5));
  EXPECT_EQ(rig.state("b"), ChildState::Running);
}

TEST(SupervisorStartOrder, StartsTheDependentAnywayWhenTheFirstFailsItsStart) {
  SupervisorRig rig(R"({"children": {
      "b": {"exec": ["/bin/b"], "ready": "exec", "after": ["a"]},
      "a": {"exec": ["/bin/a"], "ready": "exec", "restart": "no"}}})");
  rig.fake.fail_next_spawn({"exec /bin/a", ENOENT});
  rig.sup().start();

  EXPECT_EQ(rig.state("a"), ChildState::Failed);
  EXPECT_EQ(rig.child("a").last_failure(), "exec /bin/a: No such file or directory");
  EXPECT_EQ(rig.state("b"), ChildState::Running);  // ordering only, as systemd's After=
}

TEST(SupervisorShutdown, StopsInReverseOrderAndReportsTheEndOnce) {
  SupervisorRig rig(kChain);
  int finished = 0;
  rig.sup().set_on_finished([&] { ++finished; });
  rig.sup().start();
  rig.send("a", "READY=1");
  const pid_t a = rig.fake.last_pid("a"), b = rig.fake.last_pid("b");
  rig.fake.ignore_signal(b, SIGTERM);  // b takes its time

  rig.sup().shutdown();

  EXPECT_EQ(rig.fake.signals(), (std::vector<FakeSystem::SignalRecord>{{b, SIGTERM}}));
  EXPECT_EQ(rig.state("b"), ChildState::Stopping);
  EXPECT_EQ(rig.state("a"), ChildState::Running);
  rig.fake.advance(std::chrono::seconds(1));
  EXPECT_TRUE(rig.fake.signals_to(a).empty());

  rig.fake.exit(b, 0);  // b is gone: now a, in the next pass
  rig.round();

  EXPECT_EQ(rig.fake.signals(),
            (std::vector<FakeSystem::SignalRecord>{{b, SIGTERM}, {a, SIGTERM}}));
  rig.fake.advance(std::chrono::milliseconds(1));  // a dies of its SIGTERM
  EXPECT_EQ(rig.state("a"), ChildState::Stopped);
  EXPECT_EQ(rig.state("b"), ChildState::Stopped);
  EXPECT_EQ(finished, 1);
  EXPECT_TRUE(rig.sup().finished());
  rig.fake.advance(std::chrono::seconds(30));
  EXPECT_EQ(finished, 1);
  EXPECT_EQ(rig.fake.signals().size(), 2u);  // no SIGKILL after the fact
}

TEST(SupervisorShutdown, SendsSigkillAfterStopTimeout) {
  SupervisorRig rig(R"({"children": {"stubborn": {
      "exec": ["/bin/stubborn"], "ready": "exec", "stop_timeout_sec": 2}}})");
  rig.fake.set_new_process_on_signal(FakeSystem::OnSignal::Ignores);
  int finished = 0;
  rig.sup().set_on_finished([&] { ++finished; });
  rig.sup().start();
  const pid_t pid = rig.fake.last_pid("stubborn");

  rig.sup().shutdown();
  rig.fake.advance(std::chrono::milliseconds(1999));
  EXPECT_EQ(rig.fake.signals_to(pid), (std::vector<int>{SIGTERM}));
  rig.fake.advance(std::chrono::milliseconds(1));

  EXPECT_EQ(rig.fake.signals_to(pid), (std::vector<int>{SIGTERM, SIGKILL}));
  EXPECT_EQ(rig.state("stubborn"), ChildState::Stopped);
  EXPECT_EQ(rig.child("stubborn").last_exit_status(), -SIGKILL);
  EXPECT_EQ(finished, 1);
}

}  // namespace
}  // namespace duende::supervisor
