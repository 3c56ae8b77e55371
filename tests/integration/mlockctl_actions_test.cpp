// mlockctl's actions wait for their outcome: a start of a child whose program does not
// exist fails with its LastFailure and where to look (exit 1); --no-block returns at once;
// a child that never gets ready times out (exit 1); --json results; a reload says what it
// changed (added, removed, restarted, kept) and exits 1 with every problem of a rejected
// configuration (also as JSON); reload --main-pid falls back to SIGHUP without a bus.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bus_harness.hpp"
#include "text_lines.hpp"

namespace duende::itest {
namespace {

using test::lines_of;

class MlockctlActions : public BusTest {
 protected:
  void SetUp() override {
    BusTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    h.config["children"]["helper"] = idle_child();
  }
  std::uint32_t bus_pid(const std::string& name) {
    return prop<std::uint32_t>(client().child_properties(name), "Pid");
  }
};

TEST_F(MlockctlActions, StartOfABrokenChildFailsWithItsLastFailure) {
  h.config["children"]["ghost"] = failing_child();
  start_daemon();
  wait_child_state("ghost", "failed");
  const RunResult r = mlockctl({"start", "ghost"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  const std::string failure = prop<std::string>(client().child_properties("ghost"), "LastFailure");
  EXPECT_NE(failure.find("/nonexistent/prog"), std::string::npos) << failure;
  EXPECT_EQ(r.err, "mlockctl: ghost failed to start (now failed): " + failure +
                       "\n  see: mlockctl logs ghost, journalctl -u mlock-supervisor\n");
  const RunResult json = mlockctl({"--json", "start", "ghost"});
  EXPECT_EQ(json.exit_code, 1);
  const auto doc = nlohmann::json::parse(json.out);
  EXPECT_EQ(doc["format"], 1);
  EXPECT_EQ(doc["result"], "failed");
  EXPECT_EQ(doc["last_failure"], failure);
}

TEST_F(MlockctlActions, NoBlockReturnsAtOnceAndATimeoutFails) {
  // Ready only once it says so, which it never does.
  Json slow = idle_child();
  slow["ready"] = "notify";
  slow["start_timeout_sec"] = 3600;
  h.config["children"]["slow"] = slow;
  start_daemon();
  wait_child_state("helper", "running");
  RunResult r = mlockctl({"stop", "helper", "--no-block"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  wait_child_state("helper", "stopped");
  r = mlockctl({"--json", "start", "helper", "--no-block"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["result"], "queued");
  wait_child_state("helper", "running");

  r = mlockctl({"restart", "slow", "--timeout", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  // Where the restart stands after 1 s depends on the machine's speed: it has not settled.
  EXPECT_EQ(r.err.rfind("mlockctl: slow did not restart in time (now ", 0), 0u) << r.err;
  EXPECT_EQ(mlockctl({"restart", "slow", "--timeout", "x"}).exit_code, 64);
  EXPECT_EQ(mlockctl({"list", "--timeout", "1"}).exit_code, 64);
}

TEST_F(MlockctlActions, ReloadSaysWhatChangedAndWaitsForIt) {
  h.config["children"]["old"] = idle_child();
  h.config["children"]["changed"] = idle_child();
  start_daemon();
  wait_child_state("old", "running");
  wait_child_state("changed", "running");
  const std::uint32_t changed_before = bus_pid("changed");
  h.config["children"].erase("old");
  h.config["children"]["changed"] = idle_child({"--touch-mib", "1"});
  h.config["children"]["late"] = idle_child();
  h.write_config();
  const RunResult r = mlockctl({"reload"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.err, "");
  const std::uint32_t changed_after = bus_pid("changed");
  EXPECT_NE(changed_after, changed_before);
  EXPECT_EQ(r.out,
            "configuration reloaded: 1 added, 1 removed, 1 restarted, 1 kept\n"
            "  added     late: running, pid " +
                std::to_string(bus_pid("late")) +
                "\n"
                "  removed   old\n"
                "  restarted changed: running, pid " +
                std::to_string(changed_after) + "\n");
  EXPECT_EQ(client().managed_objects().size(), 3u);
}

TEST_F(MlockctlActions, RejectedReloadExitsOneWithEveryProblem) {
  start_daemon();
  wait_child_state("helper", "running");
  Json broken = idle_child();
  broken["exec"] = {"relative"};
  broken["stop_signal"] = "SIGNOPE";
  h.config["children"]["broken"] = broken;
  h.write_config();
  RunResult r = mlockctl({"reload"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("exec[0] must be an absolute path"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unknown signal \"SIGNOPE\""), std::string::npos) << r.err;
  r = mlockctl({"--json", "reload"});
  EXPECT_EQ(r.exit_code, 1);
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["format"], 1);
  EXPECT_EQ(doc["result"], "rejected");
  EXPECT_EQ(doc["problems"].size(), 2u) << r.out;
  // As systemd runs it: the same answer (the bus is there).
  r = mlockctl({"reload", "--main-pid", std::to_string(h.pid())});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(h.child_pids("helper").size(), 1u);
}

// Early boot: no bus yet. ExecReload= (mlockctl reload --main-pid $MAINPID) then sends
// SIGHUP, as the unit's line used to, and the supervisor reloads.
TEST_F(MlockctlActions, ReloadWithMainPidFallsBackToSighupWithoutABus) {
  start_daemon();
  wait_child_state("helper", "running");
  bus->kill();
  h.config["children"]["late"] = idle_child();
  h.write_config();
  const RunResult r = mlockctl({"reload", "--main-pid", std::to_string(h.pid())});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "the system bus cannot be reached: sent SIGHUP to mlock-supervisor (pid " +
                       std::to_string(h.pid()) + "); its log has the outcome\n");
  EXPECT_TRUE(eventually([&] { return h.child_pids("late").size() == 1; }));
  // Without --main-pid there is nothing to fall back to.
  EXPECT_EQ(mlockctl({"reload"}).exit_code, 69);
}

}  // namespace
}  // namespace duende::itest
