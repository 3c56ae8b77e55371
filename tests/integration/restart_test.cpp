// Restarts: a crashing child comes back with a growing delay, a crash loop ends in
// `failed` at the start limit, an exec failure fails with its reason, and on-failure
// leaves a clean exit alone.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "supervisor_harness.hpp"

namespace duende::itest {
namespace {

// The exact backoff sequence (growth, cap, reset) is the core's logic, tested in-process
// on a fake clock (tests/unit/core). Here: the real binary restarts a real crashing
// process, each time as a new process.
TEST(SupervisorRestart, CrashingChildIsRestartedAsNewProcesses) {
  Harness h;
  Json c = unlocked_child({"--crash"}, "exec");
  c["restart_sec"] = 0.05;
  c["restart_max_sec"] = 0.2;
  c["start_limit_burst"] = 1000;
  h.config["children"]["crasher"] = c;
  h.start();
  ASSERT_TRUE(h.wait_for_log("crasher: killed by signal ABRT", 4)) << "fewer than 4 crashes";
  EXPECT_GE(h.count("crasher: restarting in"), 4);
  const std::vector<pid_t> pids = h.child_pids("crasher");
  for (std::size_t i = 1; i < pids.size(); ++i) EXPECT_NE(pids[i], pids[i - 1]);
  EXPECT_EQ(h.count("start limit hit"), 0);
}

TEST(SupervisorRestart, CrashLoopEndsFailedAtTheStartLimit) {
  Harness h;
  Json c = unlocked_child({"--crash"}, "exec");
  c["restart_sec"] = 0.05;
  c["restart_max_sec"] = 0.05;
  c["start_limit_burst"] = 3;
  c["start_limit_interval_sec"] = 60;
  h.config["children"]["looper"] = c;
  h.start();
  ASSERT_TRUE(h.wait_for_log(
      "looper: start limit hit: more than 3 starts in 60 s; not restarting until asked"));
  EXPECT_TRUE(h.wait_for_status("degraded: looper failed: start limit hit"));
  EXPECT_EQ(h.child_pids("looper").size(), 3u);
  // Given time for several more backoff periods, nothing starts again.
  h.pause(500);
  EXPECT_EQ(h.child_pids("looper").size(), 3u);
  EXPECT_EQ(h.count("looper: start limit hit"), 1);
  EXPECT_LT(h.line_index("looper: started", 3), h.line_index("looper: start limit hit"));
}

TEST(SupervisorRestart, ExecFailureFailsWithItsReason) {
  Harness h;
  Json c = unlocked_child({}, "exec");
  c["exec"] = {"/nonexistent/prog", "--flag"};
  c["restart"] = "no";
  h.config["children"]["ghost"] = c;
  h.start();
  ASSERT_TRUE(
      h.wait_for_log("ghost: failed to start: exec /nonexistent/prog: No such file or directory"));
  EXPECT_TRUE(h.wait_for_status(
      "degraded: ghost failed: exec /nonexistent/prog: No such file or directory"));
  // Not a mysterious exit of a process that never was: no start, no exit status.
  EXPECT_TRUE(h.child_pids("ghost").empty());
  EXPECT_EQ(h.count("ghost: exited with status"), 0);
  // Its start has concluded (failed), so the daemon is ready.
  EXPECT_GE(h.wait_for_notification("READY=1"), 0);
}

TEST(SupervisorRestart, ExecFailureIsRetriedByPolicyUntilTheStartLimit) {
  Harness h;
  Json c = unlocked_child({}, "exec");
  c["exec"] = {"/nonexistent/prog"};
  c["restart"] = "on-failure";
  c["restart_sec"] = 0.05;
  c["restart_max_sec"] = 0.05;
  c["start_limit_burst"] = 2;
  h.config["children"]["ghost"] = c;
  h.start();
  ASSERT_TRUE(h.wait_for_log("ghost: start limit hit"));
  EXPECT_EQ(h.count("ghost: failed to start: exec /nonexistent/prog: No such file or directory"),
            2);
  EXPECT_TRUE(h.wait_for_status("degraded: ghost failed: start limit hit"));
}

TEST(SupervisorRestart, OnFailureRestartsAFailedExitButNotACleanOne) {
  Harness h;
  Json clean = unlocked_child({"--exit-after-ms", "0", "--exit-code", "0"}, "exec");
  clean["restart"] = "on-failure";
  h.config["children"]["clean"] = clean;
  Json failing = unlocked_child({"--exit-after-ms", "0", "--exit-code", "3"}, "exec");
  failing["restart"] = "on-failure";
  failing["start_limit_burst"] = 2;
  h.config["children"]["failing"] = failing;
  h.start();
  ASSERT_TRUE(h.wait_for_log("clean: exited with status 0"));
  ASSERT_TRUE(h.wait_for_log("failing: start limit hit"));
  EXPECT_EQ(h.count("failing: exited with status 3"), 2);
  EXPECT_EQ(h.count("failing: restarting in"), 2);
  EXPECT_EQ(h.child_pids("failing").size(), 2u);
  EXPECT_EQ(h.child_pids("clean").size(), 1u);
  EXPECT_EQ(h.count("clean: restarting in"), 0);
}

TEST(SupervisorRestart, AlwaysRestartsACleanExit) {
  Harness h;
  Json c = unlocked_child({"--exit-after-ms", "0", "--exit-code", "0"}, "exec");
  c["restart"] = "always";
  c["start_limit_burst"] = 1000;
  h.config["children"]["again"] = c;
  h.start();
  ASSERT_TRUE(h.wait_for_log("again: exited with status 0", 3));
  EXPECT_GE(h.child_pids("again").size(), 3u);
  EXPECT_GE(h.count("again: restarting in"), 2);
}

}  // namespace
}  // namespace duende::itest
