// Supervision never depends on the bus: with no bus at start the children are started,
// locked and supervised anyway, and the daemon takes its name once the bus appears; when
// the bus dies and comes back (same socket), the daemon is back on it and its children
// were never disturbed; while the bus is down, crashes are still handled.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "bus_harness.hpp"
#include "proc_peek.hpp"

namespace duende::itest {
namespace {

class BusResilience : public BusTest {
 protected:
  // The children on the bus, by name: (state, pid).
  std::map<std::string, std::pair<std::string, std::uint32_t>> children_on_bus() {
    std::map<std::string, std::pair<std::string, std::uint32_t>> out;
    for (const auto& [path, interfaces] : client().managed_objects()) {
      const Properties& p = interfaces.at(kChildInterface);
      out[prop<std::string>(p, "Name")] = {prop<std::string>(p, "State"),
                                           prop<std::uint32_t>(p, "Pid")};
    }
    return out;
  }

  // Waits until the daemon owns its name on the (new) bus, with a fresh client.
  void expect_back_on_the_bus() {
    reset_client();
    EXPECT_TRUE(eventually([&] { return name_owned(bus->address()); }))
        << "the daemon never came back on the bus";
  }

  void expect_running_undisturbed(const std::map<std::string, pid_t>& pids) {
    std::map<std::string, std::pair<std::string, std::uint32_t>> expected;
    for (const auto& [name, pid] : pids)
      expected[name] = {"running", static_cast<std::uint32_t>(pid)};
    EXPECT_TRUE(eventually([&] {
      try {
        return children_on_bus() == expected;
      } catch (const sdbus::Error&) {
        return false;
      }
    })) << "GetManagedObjects does not show the same running children";
    for (const auto& [name, pid] : pids) {
      SCOPED_TRACE(name);
      EXPECT_EQ(h.child_pids(name), std::vector<pid_t>{pid}) << "restarted";
      EXPECT_TRUE(process_alive(pid));
      EXPECT_EQ(prop<std::uint32_t>(client().child_properties(name), "Restarts"), 0u);
      if (can_lock() && name == "swap0") {
        EXPECT_GT(test::vm_lck(pid), 0u);
      }
    }
    EXPECT_EQ(h.count("restarting"), 0);
    EXPECT_EQ(h.count("stopped"), 0);
    EXPECT_EQ(daemon_threads(), 1u);
  }
};

TEST_F(BusResilience, NoBusAtStartChildrenSupervisedAnywayNameTakenWhenTheBusComes) {
  bus->kill();
  h.config["children"]["swap0"] = locking_child();
  h.config["children"]["helper"] = idle_child();
  Harness::Launch launch;
  launch.bus_address = bus->address();
  h.start(launch);
  // Ready without a bus: every child started and ready (locked where it can lock).
  ASSERT_GE(h.wait_for_notification("READY=1"), 0);
  ASSERT_TRUE(h.wait_for_log("D-Bus: not connected"));
  const pid_t swap0 = h.wait_child_pid("swap0"), helper = h.wait_child_pid("helper");
  ASSERT_GT(swap0, 0);
  ASSERT_GT(helper, 0);
  if (can_lock()) {
    EXPECT_GE(h.line_index("swap0: ready, locked ("), 0);
    EXPECT_GT(test::vm_lck(swap0), 0u);
  }
  EXPECT_FALSE(name_owned(bus->address()));

  bus->start();
  expect_back_on_the_bus();
  expect_running_undisturbed({{"swap0", swap0}, {"helper", helper}});
  EXPECT_EQ(h.count("D-Bus: connected"), 1);
}

TEST_F(BusResilience, BusKilledAndRestartedTheDaemonComesBackChildrenUndisturbed) {
  h.config["children"]["swap0"] = locking_child();
  h.config["children"]["helper"] = idle_child();
  start_daemon();
  wait_child_state("swap0", "running");
  wait_child_state("helper", "running");
  const pid_t swap0 = h.child_pids("swap0").at(0), helper = h.child_pids("helper").at(0);
  const pid_t daemon = h.pid();

  for (int round = 1; round <= 2; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    bus->kill();
    ASSERT_TRUE(h.wait_for_log("D-Bus: not connected", round)) << "the loss went unnoticed";
    bus->start();
    expect_back_on_the_bus();
    expect_running_undisturbed({{"swap0", swap0}, {"helper", helper}});
    EXPECT_EQ(h.count("D-Bus: connected"), round + 1);
    EXPECT_EQ(prop<std::uint32_t>(client().manager_properties(), "ChildCount"), 2u);
  }
  EXPECT_EQ(h.pid(), daemon);
  EXPECT_TRUE(process_alive(daemon));
  // Signals flow on the new bus too.
  client().subscribe();
  ASSERT_FALSE(client().manager_call("RestartChild", "helper"));
  const pid_t helper_again = h.wait_child_pid("helper", 2);
  ASSERT_GT(helper_again, 0);
  EXPECT_TRUE(eventually([&] {
    client().process();
    for (const auto& s : client().seen())
      if (s.path == child_path("helper") && s.changed.count("Pid") &&
          s.changed.at("Pid").get<std::uint32_t>() == static_cast<std::uint32_t>(helper_again))
        return true;
    return false;
  })) << "no PropertiesChanged after the reconnect";
}

TEST_F(BusResilience, CrashesAreHandledWhileTheBusIsDown) {
  h.config["children"]["crasher"] = crashing_child();
  h.config["children"]["swap0"] = locking_child();
  start_daemon();
  wait_child_state("swap0", "running");
  const pid_t swap0 = h.child_pids("swap0").at(0);
  bus->kill();
  ASSERT_TRUE(h.wait_for_log("D-Bus: not connected"));
  const int before = h.count("crasher: started");
  ASSERT_TRUE(h.wait_for_log("crasher: started", before + 3)) << "supervision stalled";
  bus->start();
  expect_back_on_the_bus();
  // The bus shows the restarts that happened meanwhile.
  EXPECT_TRUE(eventually([&] {
    try {
      return prop<std::uint32_t>(client().child_properties("crasher"), "Restarts") >=
             static_cast<std::uint32_t>(before + 2);
    } catch (const sdbus::Error&) {
      return false;
    }
  }));
  EXPECT_EQ(h.child_pids("swap0"), std::vector<pid_t>{swap0});
  EXPECT_EQ(daemon_threads(), 1u);
}

TEST_F(BusResilience, AReloadWhileTheBusIsDownIsVisibleOnceItReturns) {
  h.config["children"]["old"] = idle_child();
  h.config["children"]["kept"] = idle_child();
  start_daemon();
  wait_child_state("old", "running");
  wait_child_state("kept", "running");
  const pid_t kept = h.child_pids("kept").at(0);
  bus->kill();
  ASSERT_TRUE(h.wait_for_log("D-Bus: not connected"));
  h.config["children"].erase("old");
  h.config["children"]["new"] = idle_child();
  h.write_config();
  h.send_signal(SIGHUP);
  ASSERT_GT(h.wait_child_pid("new"), 0);
  ASSERT_TRUE(h.wait_for_log("old: stopped"));
  bus->start();
  expect_back_on_the_bus();
  EXPECT_TRUE(eventually([&] {
    try {
      const auto children = children_on_bus();
      return children.size() == 2 && children.count("new") && children.count("kept") &&
             children.at("new").first == "running";
    } catch (const sdbus::Error&) {
      return false;
    }
  })) << "the bus does not show the reloaded set";
  EXPECT_EQ(prop<std::uint32_t>(client().manager_properties(), "ChildCount"), 2u);
  EXPECT_EQ(h.child_pids("kept"), std::vector<pid_t>{kept});
}

// A bus that accepts connections but never answers (stuck, or itself waiting on swap)
// must not stall supervision: the name is requested asynchronously.
TEST_F(BusResilience, AFrozenBusNeverStallsSupervision) {
  h.config["children"]["crasher"] = crashing_child();
  h.config["children"]["swap0"] = locking_child();
  bus->freeze();
  Harness::Launch launch;
  launch.bus_address = bus->address();
  h.start(launch);
  // Fifty restart periods: far more than the few this needs when nothing blocks the loop
  // (a blocked loop stays blocked for the auth timeout, over a minute).
  const std::chrono::milliseconds patience(5000);
  EXPECT_TRUE(h.wait_until(
      [&] { return h.find_notification("READY=1") >= 0 && h.count("crasher: started") >= 5; },
      patience))
      << "supervision stalled behind a frozen bus: READY=1 "
      << (h.find_notification("READY=1") >= 0 ? "sent" : "never sent") << ", crasher started "
      << h.count("crasher: started") << " time(s)";
  // Once the bus answers again, the daemon is on it.
  bus->thaw();
  expect_back_on_the_bus();
  EXPECT_EQ(h.child_pids("swap0").size(), 1u);
  EXPECT_EQ(daemon_threads(), 1u);
}

}  // namespace
}  // namespace duende::itest
