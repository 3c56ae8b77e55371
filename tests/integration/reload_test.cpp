// Reload on SIGHUP: removed children stop, added ones start, changed ones restart,
// unchanged ones keep their process; an invalid configuration changes nothing.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <vector>

#include "supervisor_harness.hpp"

namespace duende::itest {
namespace {

TEST(SupervisorReload, AddsRemovesChangesAndKeepsChildren) {
  Harness h;
  h.config["children"]["keep"] = unlocked_child({"--ready"}, "notify");
  h.config["children"]["change"] = unlocked_child({"--ready"}, "notify");
  h.config["children"]["remove"] = unlocked_child({"--ready"}, "notify");
  h.start();
  ASSERT_TRUE(h.wait_for_status("3 running"));
  const pid_t keep = h.child_pids("keep").at(0);
  const pid_t change = h.child_pids("change").at(0);
  const pid_t remove = h.child_pids("remove").at(0);

  // The main file drops one child and changes another; a drop-in adds one.
  h.config["children"].erase("remove");
  h.config["children"]["change"]["environment"] = {{"GENERATION", "2"}};
  h.write_config();
  h.write_file(h.dropin_dir() + "/50-add.json",
               Json{{"children", {{"add", unlocked_child({"--ready"}, "notify")}}}}.dump());
  const std::size_t before = h.notifications().size();
  h.send_signal(SIGHUP);

  ASSERT_TRUE(h.wait_for_log("remove: removed from the configuration; stopping"));
  ASSERT_TRUE(h.wait_for_log("change: definition changed; restarting"));
  ASSERT_TRUE(h.wait_for_log("add: added to the configuration"));
  ASSERT_GT(h.wait_child_pid("add"), 0);
  ASSERT_GT(h.wait_child_pid("change", 2), 0);
  ASSERT_TRUE(h.wait_for_log("change: ready", 2));
  ASSERT_TRUE(h.wait_for_log("add: ready"));
  ASSERT_TRUE(h.wait_for_status("3 running"));

  // Kept: the same process, never restarted, never signalled.
  EXPECT_EQ(h.child_pids("keep"), std::vector<pid_t>{keep});
  EXPECT_TRUE(process_alive(keep));
  EXPECT_EQ(h.count("keep: stopped"), 0);
  // Changed: a new process replaced the old one.
  EXPECT_NE(h.child_pids("change").at(1), change);
  EXPECT_TRUE(h.wait_until([&] { return !process_alive(change); }));
  EXPECT_LT(h.line_index("change: stopped"), h.line_index("change: started", 2));
  // Removed: stopped and not started again.
  EXPECT_TRUE(h.wait_until([&] { return !process_alive(remove); }));
  EXPECT_EQ(h.child_pids("remove").size(), 1u);
  EXPECT_GE(h.line_index("remove: stopped (exited with status 0)"), 0);
  // systemd was told: RELOADING=1 (with MONOTONIC_USEC), then READY=1.
  const int reloading = h.wait_for_notification("RELOADING=1", before);
  ASSERT_GE(reloading, 0);
  EXPECT_NE(h.notifications()[reloading].text.find("MONOTONIC_USEC="), std::string::npos);
  EXPECT_GT(h.wait_for_notification("READY=1", reloading), reloading);
}

TEST(SupervisorReload, UnchangedConfigurationRestartsNothing) {
  Harness h;
  h.config["children"]["a"] = unlocked_child({"--ready"}, "notify");
  h.config["children"]["b"] = unlocked_child({"--ready"}, "notify");
  h.config["children"]["b"]["after"] = {"a"};
  h.start();
  ASSERT_TRUE(h.wait_for_status("2 running"));
  h.send_signal(SIGHUP);
  ASSERT_TRUE(h.wait_for_log("reloading configuration"));
  ASSERT_GE(h.wait_for_notification("RELOADING=1"), 0);
  h.pause(300);
  EXPECT_EQ(h.child_pids("a").size(), 1u);
  EXPECT_EQ(h.child_pids("b").size(), 1u);
  EXPECT_EQ(h.count("stopped"), 0);
  EXPECT_EQ(h.count("definition changed"), 0);
  EXPECT_TRUE(process_alive(h.child_pids("a").at(0)));
}

TEST(SupervisorReload, ChildRemovedAndAddedBackWhileStoppingStartsAgain) {
  Harness h;
  Json slow = unlocked_child({"--ready", "--ignore-term"}, "notify");
  slow["stop_timeout_sec"] = 0.5;  // it stays in `stopping` for half a second
  h.config["children"]["slow"] = slow;
  h.start();
  ASSERT_TRUE(h.wait_for_log("slow: ready"));
  const pid_t first = h.child_pids("slow").at(0);

  h.config["children"].erase("slow");
  h.write_config();
  h.send_signal(SIGHUP);
  ASSERT_TRUE(h.wait_for_log("slow: removed from the configuration; stopping"));
  h.config["children"]["slow"] = slow;
  h.write_config();
  h.send_signal(SIGHUP);
  ASSERT_TRUE(h.wait_for_log("reloading configuration", 2));
  // Unless the first process was gone already (a very slow machine), it comes back.
  ASSERT_TRUE(h.wait_until([&] {
    return h.count("slow: back in the configuration") +
               h.count("slow: added to the configuration") ==
           1;
  }));
  const pid_t second = h.wait_child_pid("slow", 2);
  ASSERT_GT(second, 0);
  EXPECT_NE(second, first);
  EXPECT_TRUE(h.wait_for_log("slow: ready", 2));
  EXPECT_FALSE(process_alive(first));
  EXPECT_TRUE(process_alive(second));
}

// Children that have no process (failed, or waiting to restart) settle at once when a
// reload removes them: the daemon must survive that and forget them.
// (A child without a process settles inside stop(); apply() once erased it from the map
// it was walking and died with SIGSEGV.)
TEST(SupervisorReload, RemovesChildrenThatHaveNoProcess) {
  Harness h;
  Json ghost = unlocked_child({}, "notify");
  ghost["exec"] = {"/nonexistent/prog"};
  ghost["restart"] = "no";
  h.config["children"]["ghost"] = ghost;
  Json waiting = test_child({"--crash"});
  waiting["ready"] = "exec";
  waiting["mlock"] = {{"required", false}};
  waiting["restart_sec"] = 30;
  waiting["restart_max_sec"] = 30;
  h.config["children"]["waiting"] = waiting;
  h.config["children"]["keep"] = unlocked_child({"--ready"}, "notify");
  h.start();
  ASSERT_TRUE(h.wait_for_log("ghost: failed to start"));
  ASSERT_TRUE(h.wait_for_log("waiting: restarting in 30 s"));
  ASSERT_TRUE(h.wait_for_log("keep: ready"));
  const pid_t keep = h.child_pids("keep").at(0);

  h.config["children"].erase("ghost");
  h.config["children"].erase("waiting");
  h.write_config();
  const std::size_t before = h.notifications().size();
  h.send_signal(SIGHUP);
  ASSERT_TRUE(h.wait_for_log("ghost: removed from the configuration; stopping"));
  ASSERT_TRUE(h.wait_for_log("waiting: removed from the configuration; stopping"));
  const int reloading = h.wait_for_notification("RELOADING=1", before);
  ASSERT_GE(reloading, 0);
  EXPECT_GT(h.wait_for_notification("READY=1", reloading), reloading);
  EXPECT_TRUE(h.wait_for_status("0/1 children locked, 1 running"));
  EXPECT_TRUE(process_alive(h.pid()));
  EXPECT_TRUE(process_alive(keep));
  EXPECT_EQ(h.child_pids("keep").size(), 1u);
  EXPECT_EQ(h.stop(), 0);
}

TEST(SupervisorReload, InvalidConfigurationChangesNothing) {
  Harness h;
  h.config["children"]["a"] = unlocked_child({"--ready"}, "notify");
  h.config["children"]["b"] = unlocked_child({"--ready"}, "notify");
  h.start();
  ASSERT_TRUE(h.wait_for_status("2 running"));
  const pid_t a = h.child_pids("a").at(0);
  const pid_t b = h.child_pids("b").at(0);

  // Valid parts (a changed, b removed) must not be applied because c is invalid.
  Json next = h.config;
  next["children"]["a"]["environment"] = {{"CHANGED", "1"}};
  next["children"].erase("b");
  next["children"]["c"] = unlocked_child({"--ready"}, "notify");
  next["children"]["c"]["restart_secs"] = 1;
  h.write_file(h.config_file(), next.dump(2));
  const std::size_t before = h.notifications().size();
  h.send_signal(SIGHUP);

  ASSERT_TRUE(h.wait_for_log("reload failed: 1 problem(s); keeping the running configuration"));
  EXPECT_GE(h.line_index("reload: " + h.config_file() +
                         ": /children/c/restart_secs: unknown key \"restart_secs\"; did you mean "
                         "\"restart_sec\"?"),
            0);
  EXPECT_GE(
      h.wait_for_notification("; reload failed: 1 problem(s), running configuration kept", before),
      0);
  // systemd still gets READY=1 after RELOADING=1, or it would wait for the reload forever.
  const int reloading = h.wait_for_notification("RELOADING=1", before);
  ASSERT_GE(reloading, 0);
  EXPECT_GT(h.wait_for_notification("READY=1", reloading), reloading);

  h.pause(300);
  EXPECT_EQ(h.child_pids("a"), std::vector<pid_t>{a});
  EXPECT_EQ(h.child_pids("b"), std::vector<pid_t>{b});
  EXPECT_TRUE(h.child_pids("c").empty());
  EXPECT_TRUE(process_alive(a));
  EXPECT_TRUE(process_alive(b));
  EXPECT_EQ(h.count("stopped"), 0);
  EXPECT_EQ(h.count("added to the configuration"), 0);
}

// A failed reload must stay visible in STATUS= (`systemctl status`) across monitor ticks,
// until a reload succeeds.
TEST(SupervisorReload, FailedReloadStaysVisibleInStatus) {
  Harness h;
  h.config["children"]["a"] = unlocked_child({"--ready"}, "notify");
  h.start();
  ASSERT_TRUE(h.wait_for_status("1 running"));
  h.write_file(h.config_file(), "{ \"children\": {,} }");
  h.send_signal(SIGHUP);
  ASSERT_TRUE(h.wait_for_log("reload failed: 1 problem(s)"));
  ASSERT_GE(h.wait_for_notification("reload failed"), 0);
  h.pause(500);  // several monitor ticks (0.1 s)
  EXPECT_NE(h.last_status().find("reload failed"), std::string::npos)
      << "last STATUS: " << h.last_status();
}

}  // namespace
}  // namespace duende::itest
