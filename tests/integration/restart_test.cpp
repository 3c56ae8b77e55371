// Restarts: a crashing child comes back with a growing delay, a crash loop ends in
// `failed` at the start limit, an exec failure fails with its reason, and on-failure
// leaves a clean exit alone.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "supervisor_harness.hpp"

namespace duende::itest {
namespace {

// The delays announced in "NAME: restarting in X s (restart N)" lines, in order.
std::vector<double> announced_delays(const Harness& h, const std::string& name) {
  std::vector<double> delays;
  for (const auto& line : h.daemon_lines())
    if (line.rfind("<5>" + name + ": restarting in ", 0) == 0)
      delays.push_back(number_after(line, ": restarting in ").value_or(-1));
  return delays;
}

TEST(SupervisorRestart, CrashingChildRestartsWithGrowingBackoff) {
  Harness h;
  Json c = unlocked_child({"--crash"}, "exec");
  c["restart_sec"] = 0.05;
  c["restart_max_sec"] = 1;
  c["start_limit_burst"] = 1000;
  h.config["children"]["crasher"] = c;
  h.start();
  // 0.05, 0.1, 0.2, 0.4, 0.8, then the cap: 1, 1.
  ASSERT_TRUE(h.wait_for_log("crasher: restarting in", 7));
  ASSERT_TRUE(h.wait_for_log("crasher: killed by signal ABRT", 7));
  const std::vector<double> delays = announced_delays(h, "crasher");
  ASSERT_GE(delays.size(), 7u);
  EXPECT_DOUBLE_EQ(delays[0], 0.05);
  for (std::size_t i = 1; i < 5; ++i)
    EXPECT_DOUBLE_EQ(delays[i], delays[i - 1] * 2) << "restart " << i + 1;
  for (std::size_t i = 5; i < delays.size(); ++i)
    EXPECT_DOUBLE_EQ(delays[i], 1.0) << "restart " << i + 1 << " must be capped";

  // Every restart is a new process.
  const std::vector<pid_t> pids = h.child_pids("crasher");
  ASSERT_GE(pids.size(), 7u);
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
