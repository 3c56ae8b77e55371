// Stopping: SIGTERM (and SIGINT) stop every child in reverse `after` order and the daemon
// exits 0 with nothing left behind; a child that ignores its stop signal is killed after
// its stop_timeout_sec.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <vector>

#include "supervisor_harness.hpp"

namespace duende::itest {
namespace {

TEST(SupervisorStop, StopsChildrenInReverseOrderAndExitsZero) {
  Harness h;
  h.config["children"]["base"] = unlocked_child({"--ready"}, "notify");
  h.config["children"]["middle"] = unlocked_child({"--ready"}, "notify");
  h.config["children"]["middle"]["after"] = {"base"};
  h.config["children"]["top"] = unlocked_child({"--ready"}, "notify");
  h.config["children"]["top"]["after"] = {"middle"};
  h.start();
  ASSERT_TRUE(h.wait_for_status("3 running"));
  std::vector<pid_t> pids;
  for (const char* name : {"base", "middle", "top"}) pids.push_back(h.child_pids(name).at(0));

  h.send_signal(SIGTERM);
  ASSERT_EQ(h.wait_exit(), 0);
  EXPECT_LT(h.line_index("top: stopped (exited with status 0)"),
            h.line_index("middle: stopped (exited with status 0)"));
  EXPECT_LT(h.line_index("middle: stopped (exited with status 0)"),
            h.line_index("base: stopped (exited with status 0)"));
  EXPECT_GE(h.line_index("all children stopped"), 0);
  for (pid_t pid : pids) EXPECT_FALSE(process_alive(pid)) << pid;
  EXPECT_GE(h.find_notification("STOPPING=1"), 0);
}

TEST(SupervisorStop, SigintStopsLikeSigterm) {
  Harness h;
  h.config["children"]["only"] = unlocked_child({"--ready"}, "notify");
  h.start();
  ASSERT_TRUE(h.wait_for_log("only: ready"));
  const pid_t pid = h.child_pids("only").at(0);
  h.send_signal(SIGINT);
  ASSERT_EQ(h.wait_exit(), 0);
  EXPECT_GE(h.line_index("only: stopped (exited with status 0)"), 0);
  EXPECT_FALSE(process_alive(pid));
}

TEST(SupervisorStop, KillsAChildIgnoringItsStopSignalAfterTheTimeout) {
  Harness h;
  Json stubborn = unlocked_child({"--ready", "--ignore-term"}, "notify");
  stubborn["stop_timeout_sec"] = 0.3;
  h.config["children"]["stubborn"] = stubborn;
  h.config["children"]["polite"] = unlocked_child({"--ready"}, "notify");
  h.start();
  ASSERT_TRUE(h.wait_for_status("2 running"));
  const pid_t pid = h.child_pids("stubborn").at(0);
  const pid_t polite = h.child_pids("polite").at(0);

  h.send_signal(SIGTERM);
  ASSERT_EQ(h.wait_exit(), 0);
  EXPECT_GE(h.line_index("stubborn: did not stop within 0.3 s; sending SIGKILL"), 0);
  EXPECT_LT(h.line_index("stubborn: did not stop within 0.3 s; sending SIGKILL"),
            h.line_index("stubborn: stopped (killed by signal KILL)"));
  EXPECT_GE(h.line_index("polite: stopped (exited with status 0)"), 0);
  EXPECT_EQ(h.count("polite: did not stop"), 0);
  EXPECT_FALSE(process_alive(pid));
  EXPECT_FALSE(process_alive(polite));
}

TEST(SupervisorStop, CancelsAPendingRestart) {
  Harness h;
  Json c = test_child({"--crash"});
  c["ready"] = "exec";
  c["mlock"] = {{"required", false}};
  c["restart_sec"] = 30;  // far longer than the test: the restart is pending when it stops
  c["restart_max_sec"] = 30;
  h.config["children"]["waiting"] = c;
  h.start();
  ASSERT_TRUE(h.wait_for_log("waiting: restarting in 30 s"));
  h.send_signal(SIGTERM);
  ASSERT_EQ(h.wait_exit(), 0);
  EXPECT_EQ(h.child_pids("waiting").size(), 1u);
  EXPECT_GE(h.line_index("all children stopped"), 0);
}

// A SIGHUP during shutdown must neither apply a configuration nor tell systemd
// RELOADING=1/READY=1 after STOPPING=1.
TEST(SupervisorStop, ReloadWhileStoppingStartsNothing) {
  Harness h;
  Json stubborn = unlocked_child({"--ready", "--ignore-term"}, "notify");
  stubborn["stop_timeout_sec"] = 0.5;  // keeps the daemon in `stopping` for a while
  h.config["children"]["stubborn"] = stubborn;
  h.start();
  ASSERT_TRUE(h.wait_for_log("stubborn: ready"));
  h.config["children"]["late"] = unlocked_child({"--ready"}, "notify");
  h.write_config();
  h.send_signal(SIGTERM);
  ASSERT_GE(h.wait_for_notification("STOPPING=1"), 0);
  h.send_signal(SIGHUP);
  ASSERT_EQ(h.wait_exit(), 0);
  EXPECT_TRUE(h.child_pids("late").empty());
  // Once STOPPING=1 is out, systemd must not be told READY=1 again.
  const int stopping = h.find_notification("STOPPING=1");
  EXPECT_EQ(h.find_notification("READY=1", stopping), -1);
}

}  // namespace
}  // namespace duende::itest
