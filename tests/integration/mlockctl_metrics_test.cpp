// `mlockctl metrics` through a child's history, against a real daemon on a private bus:
// a lock really lost (the child munlockall()s) counts in mlock_supervisor_child_lock_lost_total
// as in LockLosses; a child killed with SIGKILL and restarted shows signal 9 as its last
// exit, and its new process's start time, which is the bus's StartedAt. Each value is
// read from the same daemon by both sides: mlockctl's exposition and the test's own GetAll.
#include <gtest/gtest.h>
#include <signal.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "bus_harness.hpp"
#include "privilege.hpp"
#include "prometheus_exposition.hpp"

namespace duende::itest {
namespace {

class MlockctlMetrics : public BusTest {
 protected:
  // The exposition now, checked valid.
  Exposition metrics() {
    const RunResult r = mlockctl({"metrics"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    Exposition e = parse_exposition(r.out);
    for (const auto& err : e.errors) ADD_FAILURE() << err << "\n" << r.out;
    return e;
  }
};

TEST_F(MlockctlMetrics, ALostLockCountsAsLockLosses) {
  DUENDE_REQUIRE_LOCKING();
  Json fragile = locking_child();
  fragile["exec"].push_back("--unlock-when");
  fragile["exec"].push_back(h.path("unlock"));
  fragile["on_lock_lost"] = "warn";  // stays running: the counter, not a restart, is seen
  h.config["children"]["fragile"] = fragile;
  start_daemon();
  wait_child_state("fragile", "running");
  ASSERT_TRUE(
      eventually([&] { return prop<bool>(client().child_properties("fragile"), "IsLocked"); }));
  const std::map<std::string, std::string> child = {{"child", "fragile"}};
  EXPECT_EQ(metrics().value("mlock_supervisor_child_lock_lost_total", child), 0);

  h.write_file(h.path("unlock"), "");
  ASSERT_TRUE(eventually([&] {
    return prop<std::uint32_t>(client().child_properties("fragile"), "LockLosses") > 0;
  })) << "no lock loss on the bus";
  // Once per loss: a monitor tick later it is still one, on the bus and in the metrics.
  h.pause(500);
  const Exposition e = metrics();
  const std::uint32_t losses =
      prop<std::uint32_t>(client().child_properties("fragile"), "LockLosses");
  EXPECT_EQ(losses, 1u);
  EXPECT_EQ(e.value("mlock_supervisor_child_lock_lost_total", child), losses);
  EXPECT_EQ(e.type.at("mlock_supervisor_child_lock_lost_total"), "counter");
}

TEST_F(MlockctlMetrics, AKilledChildShowsItsSignalAndItsNewStartTime) {
  Json victim = idle_child();
  victim["restart"] = "always";
  victim["restart_sec"] = 0.05;
  h.config["children"]["victim"] = victim;
  start_daemon();
  const Properties before = wait_child_state("victim", "running");
  const std::uint32_t old_pid = prop<std::uint32_t>(before, "Pid");
  const std::uint64_t old_start = prop<std::uint64_t>(before, "StartedAt");
  ASSERT_GT(old_pid, 0u);
  ASSERT_GT(old_start, 0u);
  const std::map<std::string, std::string> child = {{"child", "victim"}};
  Exposition e = metrics();
  EXPECT_NEAR(e.value("mlock_supervisor_child_start_time_seconds", child), old_start / 1e6, 1e-6);
  EXPECT_TRUE(std::isnan(e.value("mlock_supervisor_child_last_exit_signal", child)));

  ASSERT_EQ(::kill(static_cast<pid_t>(old_pid), SIGKILL), 0);
  Properties p;
  ASSERT_TRUE(eventually([&] {
    p = client().child_properties("victim");
    return prop<std::string>(p, "State") == "running" && prop<std::uint32_t>(p, "Pid") != old_pid;
  })) << "not restarted";
  EXPECT_EQ(prop<std::string>(p, "LastExitCode"), "killed");
  EXPECT_EQ(prop<std::int32_t>(p, "LastExitStatus"), -SIGKILL);
  const std::uint64_t new_start = prop<std::uint64_t>(p, "StartedAt");
  EXPECT_GT(new_start, old_start);

  e = metrics();
  EXPECT_EQ(e.value("mlock_supervisor_child_last_exit_signal", child), SIGKILL);
  EXPECT_TRUE(std::isnan(e.value("mlock_supervisor_child_last_exit_code", child)));
  EXPECT_NEAR(e.value("mlock_supervisor_child_start_time_seconds", child), new_start / 1e6, 1e-6);
  EXPECT_EQ(e.value("mlock_supervisor_child_restarts_total", child),
            prop<std::uint32_t>(p, "Restarts"));
}

}  // namespace
}  // namespace duende::itest
