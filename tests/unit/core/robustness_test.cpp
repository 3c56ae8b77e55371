// What an input, a limit or a flood must not do to the core: thousands of children start
// and stop without recursion (on a small stack), a full notify queue loses nothing systemd
// must hear, STATUS= is coalesced, and a child flooding lock reports costs bounded /proc
// reads.
#include <gtest/gtest.h>
#include <pthread.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <string>

#include "core/fd_budget.hpp"
#include "supervisor_rig.hpp"

namespace duende::supervisor {
namespace {

using std::chrono::milliseconds;
using test::SupervisorRig;

// Runs `body` on a thread with a `stack_bytes` stack: deep recursion crashes the test.
void on_small_stack(std::size_t stack_bytes, const std::function<void()>& body) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack_bytes);
  pthread_t thread;
  auto trampoline = [](void* arg) -> void* {
    (*static_cast<const std::function<void()>*>(arg))();
    return nullptr;
  };
  ASSERT_EQ(pthread_create(&thread, &attr, trampoline, const_cast<std::function<void()>*>(&body)),
            0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
}

// `n` children with exec readiness, each ordered after the one before: the longest
// cascade there is (each ready starts the next).
std::string chain(int n) {
  std::string json = R"({"children": {)";
  for (int i = 0; i < n; ++i) {
    json += (i ? "," : "") + std::string("\"c") + std::to_string(i) +
            R"(": {"exec": ["/bin/c"], "ready": "exec", "mlock": {"required": false})" +
            (i ? R"(, "after": ["c)" + std::to_string(i - 1) + "\"]" : "") + "}";
  }
  return json + "}}";
}

TEST(SupervisorScale, FiveThousandChainedExecChildrenStartAndStopOnA256KiBStack) {
  constexpr int kChildren = 5000;
  SupervisorRig rig(chain(kChildren));
  int finished = 0;
  rig.sup().set_on_finished([&] { ++finished; });
  // 5,000 nested starts would need megabytes of stack; 256 KiB is plenty for a loop.
  on_small_stack(256 * 1024, [&] {
    rig.sup().start();
    rig.round();
  });
  EXPECT_EQ(rig.fake.spawns().size(), static_cast<std::size_t>(kChildren));
  EXPECT_EQ(rig.state("c0"), ChildState::Running);
  EXPECT_EQ(rig.state("c" + std::to_string(kChildren - 1)), ChildState::Running);
  EXPECT_EQ(rig.sup().totals().running, static_cast<std::size_t>(kChildren));
  EXPECT_EQ(rig.sup().state(), ManagerState::Running);

  on_small_stack(256 * 1024, [&] {
    rig.sup().shutdown();
    // Reverse order: one child per pass, each pass in its own loop round.
    for (int i = 0; i < 2 * kChildren + 10 && !finished; ++i) rig.fake.advance(milliseconds(1));
  });
  EXPECT_EQ(finished, 1);
  EXPECT_EQ(rig.state("c0"), ChildState::Stopped);
  // The last started is the first stopped.
  ASSERT_EQ(rig.fake.signals().size(), static_cast<std::size_t>(kChildren));
  EXPECT_EQ(rig.fake.signals().front().pid, rig.fake.last_pid("c" + std::to_string(kChildren - 1)));
  EXPECT_EQ(rig.fake.signals().back().pid, rig.fake.last_pid("c0"));
}

constexpr const char* kOne = R"({"children": {"a": {"exec": ["/bin/a"], "ready": "notify",
    "mlock": {"required": false}}}})";

TEST(SystemdNotifierQueue, ReadyIsDeliveredOnceTheFullQueueDrains) {
  SupervisorRig rig(kOne);
  rig.fake.set_notify_error(EAGAIN);  // systemd's notify queue is full
  rig.sup().start();
  rig.send("a", "READY=1");
  EXPECT_EQ(rig.sup().state(), ManagerState::Running);
  rig.fake.advance(std::chrono::seconds(2));  // still full: retried, never blocking
  EXPECT_TRUE(rig.fake.delivered_messages().empty());
  const auto tries = rig.fake.service_messages().size();
  EXPECT_GT(tries, 10u) << "READY=1 was not retried";

  rig.fake.set_notify_error(0);
  rig.fake.advance(SystemdNotifier::kRetryInterval + SystemdNotifier::kStatusInterval);
  const auto& delivered = rig.fake.delivered_messages();
  ASSERT_GE(delivered.size(), 2u);
  EXPECT_EQ(delivered[0], "READY=1");
  EXPECT_EQ(delivered.back(), "STATUS=0/1 children locked, 1 running, 0 B pinned");
}

TEST(SystemdNotifierQueue, StoppingAndTheLastStatusSurviveAFullQueue) {
  SupervisorRig rig(kOne);
  rig.sup().start();
  rig.send("a", "READY=1");
  rig.fake.advance(std::chrono::seconds(1));
  rig.fake.set_notify_error(EAGAIN);
  rig.sup().shutdown();
  rig.fake.advance(milliseconds(500));
  rig.fake.set_notify_error(0);
  const auto before = rig.fake.delivered_messages().size();
  rig.fake.advance(std::chrono::seconds(1));
  const std::vector<std::string> after(rig.fake.delivered_messages().begin() + before,
                                       rig.fake.delivered_messages().end());
  EXPECT_EQ(after, (std::vector<std::string>{"STOPPING=1", "STATUS=stopping"}));
}

TEST(SystemdNotifierQueue, StatusIsCoalescedToAFewASecond) {
  SupervisorRig rig(R"({"children": {"flap": {"exec": ["/bin/f"], "ready": "exec",
      "restart": "always", "restart_sec": 0.01, "restart_max_sec": 0.01,
      "start_limit_burst": 100000, "mlock": {"required": false}}}})");
  rig.fake.exit_new_processes_after(milliseconds(5));  // it dies 5 ms after each start
  rig.sup().start();
  const auto before = rig.fake.service_messages_starting("STATUS=").size();
  rig.fake.advance(std::chrono::seconds(2));
  const auto statuses = rig.fake.service_messages_starting("STATUS=").size() - before;
  EXPECT_GT(rig.child("flap").restarts(), 100u);  // the state flips every few ms
  EXPECT_LE(statuses, 2 * 1000 / 250 + 1) << "STATUS= more than 4 a second";
  EXPECT_GE(statuses, 1u);
}

TEST(ChildReportFlood, ProcIsReadABoundedNumberOfTimesAndTheFloodIsLoggedOnce) {
  SupervisorRig rig(R"({"monitor_interval_sec": 1, "full_check_interval_sec": 30,
      "children": {"flood": {"exec": ["/bin/f"], "ready": "locked"}}})");
  rig.fake.set_new_process_memory({.locked_bytes = 4096});
  rig.sup().start();
  rig.send("flood", "X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=4096\n");
  ASSERT_EQ(rig.state("flood"), ChildState::Running);
  const unsigned reads = rig.fake.inspect_calls(), walks = rig.fake.coverage_calls();
  const pid_t pid = rig.fake.last_pid("flood");
  // 10,000 reports in one second.
  for (int i = 0; i < 10000; ++i) {
    rig.sup().on_datagram(
        Datagram{pid, "X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=4096\n", false});
    rig.fake.advance(std::chrono::microseconds(100));
  }
  // One second: at most one read per 100 ms for the reports, plus the monitor's tick.
  EXPECT_LE(rig.fake.inspect_calls() - reads, 10u + 2u);
  // The monitor's first full check (its clock started at 0) and none for the reports.
  EXPECT_LE(rig.fake.coverage_calls() - walks, 1u) << "smaps walks for reports";
  rig.fake.advance(std::chrono::seconds(2));
  EXPECT_EQ(rig.log.containing("flooding the notify socket").size(), 1u);
  EXPECT_EQ(rig.state("flood"), ChildState::Running);
}

std::string children(int n) {
  std::string json = R"({"children": {)";
  for (int i = 0; i < n; ++i)
    json += (i ? "," : "") + std::string("\"k") + std::to_string(i) +
            R"(": {"exec": ["/bin/k"], "ready": "exec", "mlock": {"required": false}})";
  return json + "}}";
}

TEST(FdBudget, AReloadOverTheLimitIsRefusedAndDisturbsNothing) {
  SupervisorRig rig(children(3));
  rig.fake.set_fd_limit(kSupervisorFds + 5);  // room for 5 children
  rig.sup().start();
  rig.round();
  const auto spawns = rig.fake.spawns().size();
  rig.loader = [] { return config_from_documents({{"test.json", children(6)}}); };

  const auto result = rig.sup().reload();

  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().kind, ActionError::Kind::ConfigInvalid);
  EXPECT_EQ(result.error().message,
            "the configuration needs 70 file descriptors (6 children, 1 each, and 64 for the "
            "supervisor), but the limit is 69 (RLIMIT_NOFILE: raise LimitNOFILE= in the unit)");
  rig.fake.advance(std::chrono::seconds(1));
  EXPECT_EQ(rig.sup().children().size(), 3u);
  EXPECT_EQ(rig.fake.spawns().size(), spawns);
  EXPECT_TRUE(rig.fake.signals().empty());
  EXPECT_NE(rig.sup().status_line().find("reload failed"), std::string::npos);

  rig.loader = [] { return config_from_documents({{"test.json", children(5)}}); };
  ASSERT_TRUE(rig.sup().reload().has_value());  // at the limit: fine
  rig.round();
  EXPECT_EQ(rig.sup().children().size(), 5u);
}

}  // namespace
}  // namespace duende::supervisor
