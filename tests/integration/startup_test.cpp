// Start-up: children start in `after` order, each only once the one before is ready, and
// each readiness mode (exec, notify, locked) means what it says.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "privilege.hpp"
#include "proc_peek.hpp"
#include "supervisor_harness.hpp"

namespace duende::itest {
namespace {

TEST(SupervisorStartup, StartsAChildOnlyAfterTheOneItFollowsIsReady) {
  Harness h;
  // Lexical order would start "alpha" first; `after` must win.
  const std::string gate = h.path("zeta-ready");
  h.config["children"]["zeta"] = unlocked_child({"--ready-when", gate}, "notify");
  h.config["children"]["alpha"] = unlocked_child({"--ready"}, "notify");
  h.config["children"]["alpha"]["after"] = {"zeta"};
  h.start();

  const pid_t zeta = h.wait_child_pid("zeta");
  ASSERT_GT(zeta, 0);
  // zeta is up but has not said READY=1: alpha must wait, and so must the daemon's READY.
  h.pause(300);
  EXPECT_TRUE(h.child_pids("alpha").empty());
  EXPECT_EQ(h.count("zeta: ready"), 0);
  EXPECT_EQ(h.find_notification("READY=1"), -1);

  h.write_file(gate, "");
  ASSERT_GT(h.wait_child_pid("alpha"), 0);
  ASSERT_TRUE(h.wait_for_log("alpha: ready"));
  EXPECT_LT(h.line_index("zeta: started"), h.line_index("zeta: ready"));
  EXPECT_LT(h.line_index("zeta: ready"), h.line_index("alpha: started"));
  EXPECT_LT(h.line_index("alpha: started"), h.line_index("alpha: ready"));
  EXPECT_GE(h.wait_for_notification("READY=1"), 0);
  EXPECT_TRUE(h.wait_for_status("0/2 children locked, 2 running"));
  EXPECT_TRUE(process_alive(zeta));
}

TEST(SupervisorStartup, StartsIndependentChildrenWithoutWaiting) {
  Harness h;
  // Neither is ordered after the other: a child that never becomes ready holds nothing up.
  h.config["children"]["never-ready"] = unlocked_child({}, "notify");
  h.config["children"]["other"] = unlocked_child({"--ready"}, "notify");
  h.start();
  ASSERT_TRUE(h.wait_for_log("other: ready"));
  EXPECT_EQ(h.count("never-ready: ready"), 0);
  EXPECT_EQ(h.child_pids("never-ready").size(), 1u);
}

TEST(SupervisorReadiness, ExecModeIsReadyAsSoonAsExecSucceeded) {
  Harness h;
  const std::string pid_file = h.path("plain.pid");
  Json c = test_child({"--write-pid", pid_file, "--sleep-forever"});  // says nothing to the daemon
  c["ready"] = "exec";
  c["mlock"] = {{"required", false}};
  h.config["children"]["plain"] = c;
  h.start();
  const pid_t pid = h.wait_child_pid("plain");
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(h.wait_for_log("plain: ready"));
  EXPECT_GE(h.line_index("plain: ready"), 0);
  // No lock report came, so the ready line carries none.
  EXPECT_EQ(h.count("plain: ready, "), 0);
  EXPECT_GE(h.wait_for_notification("READY=1"), 0);
  EXPECT_TRUE(h.wait_for_status("1 running"));
  EXPECT_TRUE(process_alive(pid));
  // The pid the daemon logged is the program's own.
  ASSERT_TRUE(h.wait_until([&] { return std::ifstream(pid_file).good(); }));
  pid_t written = 0;
  std::ifstream(pid_file) >> written;
  EXPECT_EQ(written, pid);
}

TEST(SupervisorReadiness, NotifyModeWaitsForReadyEvenAfterALockReport) {
  Harness h;
  const std::string gate = h.path("ready");
  // A lock report alone must not count as READY=1.
  h.config["children"]["svc"] = unlocked_child(
      {"--send-text", "X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=4096\nX_DUENDE_MLOCK_ERRNO=0",
       "--ready-when", gate},
      "notify");
  h.start();
  ASSERT_GT(h.wait_child_pid("svc"), 0);
  ASSERT_TRUE(h.wait_for_status("0 running"));
  h.pause(300);
  EXPECT_EQ(h.count("svc: ready"), 0);
  EXPECT_EQ(h.find_notification("READY=1"), -1);
  EXPECT_EQ(h.count("notify socket: ignored"), 0);  // the report was a child's, and valid

  const std::size_t before_gate = h.notifications().size();
  h.write_file(gate, "");
  ASSERT_TRUE(h.wait_for_log("svc: ready"));
  // The daemon's READY=1 and the "running" STATUS come only after the child's READY=1.
  EXPECT_GE(h.wait_for_notification("READY=1", before_gate), 0);
  EXPECT_EQ(h.find_notification("READY=1"), h.find_notification("READY=1", before_gate));
  EXPECT_TRUE(h.wait_for_status("1 running"));
}

TEST(SupervisorReadiness, LockedModeWaitsForTheLockNotForReady) {
  DUENDE_SKIP_IF_SANITIZED("ASan makes mlockall() a no-op: the child never shows VmLck > 0");
  Harness h;
  const std::string gate = h.path("lock");
  Json c = test_child({"--ready", "--lock-when", gate});  // READY=1 at once, lock later
  c["ready"] = "locked";
  h.config["children"]["locked"] = c;
  h.start();
  const pid_t pid = h.wait_child_pid("locked");
  ASSERT_GT(pid, 0);
  h.pause(300);
  EXPECT_EQ(h.count("locked: ready"), 0);
  EXPECT_EQ(h.find_notification("READY=1"), -1);
  EXPECT_EQ(test::vm_lck(pid), 0u);

  h.write_file(gate, "");
  ASSERT_TRUE(h.wait_for_log("locked: ready, locked ("));
  EXPECT_GT(test::vm_lck(pid), 0u);
  EXPECT_GE(h.wait_for_notification("READY=1"), 0);
  EXPECT_TRUE(h.wait_for_status("1/1 children locked, 1 running"));
}

TEST(SupervisorReadiness, NotifyChildSilentPastStartTimeoutFailsItsStart) {
  Harness h;
  Json c = unlocked_child({}, "notify");
  c["start_timeout_sec"] = 0.3;
  c["restart"] = "no";
  h.config["children"]["mute"] = c;
  h.start();
  const pid_t pid = h.wait_child_pid("mute");
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(h.wait_for_log("mute: failed to start: start timeout: no READY=1 within 0.3 s"));
  // It is stopped (it honours SIGTERM), not left running, and the daemon still reports
  // READY=1: every child's start has concluded.
  EXPECT_TRUE(h.wait_for_log("mute: ended (exited with status 0)"));
  EXPECT_TRUE(h.wait_until([&] { return !process_alive(pid); }));
  EXPECT_TRUE(h.wait_for_status("degraded: mute failed: start timeout: no READY=1"));
  EXPECT_GE(h.wait_for_notification("READY=1"), 0);
  EXPECT_EQ(h.child_pids("mute").size(), 1u);
}

TEST(SupervisorReadiness, LockedChildWithoutALockReportTimesOut) {
  Harness h;
  Json c = test_child({"--ready"});  // READY=1 but never a lock report
  c["ready"] = "locked";
  c["start_timeout_sec"] = 0.3;
  c["restart"] = "no";
  h.config["children"]["unlocked"] = c;
  h.start();
  ASSERT_TRUE(
      h.wait_for_log("unlocked: failed to start: start timeout: not locked within 0.3 s (no lock "
                     "report"));
  EXPECT_TRUE(h.wait_for_status("degraded: unlocked failed: start timeout: not locked"));
  EXPECT_EQ(h.count("unlocked: ready"), 0);
}

}  // namespace
}  // namespace duende::itest
