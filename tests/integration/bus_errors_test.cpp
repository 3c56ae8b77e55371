// Errors a caller gets, and that no call, however malformed, hurts the daemon: unknown
// child → NoSuchChild, a start of a running child → InvalidState, an invalid configuration
// → ConfigInvalid listing every problem (and nothing changes), bad arguments →
// InvalidArgs; wrong signatures, unknown members, interfaces and objects, huge and odd
// strings → errors, after which the daemon still answers, with the same pid, the same
// connection and one thread.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "bus_harness.hpp"

namespace duende::itest {
namespace {

const std::string kNoSuchChild = std::string(kErrorPrefix) + "NoSuchChild";
const std::string kInvalidState = std::string(kErrorPrefix) + "InvalidState";
const std::string kConfigInvalid = std::string(kErrorPrefix) + "ConfigInvalid";
constexpr const char* kInvalidArgs = "org.freedesktop.DBus.Error.InvalidArgs";

class BusErrors : public BusTest {
 protected:
  void SetUp() override {
    BusTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    h.config["children"]["worker"] = idle_child();
    start_daemon();
    worker_ = static_cast<pid_t>(prop<std::uint32_t>(wait_child_state("worker", "running"), "Pid"));
  }

  // The daemon is unharmed: same process, one thread, still on the bus with the same
  // connection (never dropped it), still answering.
  void expect_daemon_unharmed(pid_t daemon) {
    EXPECT_EQ(h.pid(), daemon);
    EXPECT_TRUE(process_alive(daemon));
    EXPECT_EQ(daemon_threads(), 1u);
    EXPECT_EQ(h.count("D-Bus: not connected"), 0);
    EXPECT_EQ(h.count("D-Bus: connected"), 1);
    EXPECT_TRUE(name_owned(bus->address()));
    EXPECT_EQ(prop<std::string>(client().child_properties("worker"), "State"), "running");
    EXPECT_EQ(client().managed_objects().size(), 1u);
    EXPECT_EQ(h.child_pids("worker"), std::vector<pid_t>{worker_});
  }

  pid_t worker_ = 0;
};

TEST_F(BusErrors, UnknownChildIsNoSuchChild) {
  for (const char* method : {"GetChild", "RestartChild", "StartChild", "StopChild"}) {
    const CallError e = client().manager_call(method, "nope");
    EXPECT_EQ(e.name, kNoSuchChild) << method;
    EXPECT_NE(e.message.find("nope"), std::string::npos) << method << ": " << e.message;
  }
}

TEST_F(BusErrors, StartingARunningChildOrStoppingAStoppedOneIsInvalidState) {
  CallError e = client().manager_call("StartChild", "worker");
  EXPECT_EQ(e.name, kInvalidState);
  EXPECT_NE(e.message.find("running"), std::string::npos) << e.message;
  e = client().call(child_path("worker"), kChildInterface, "Start");
  EXPECT_EQ(e.name, kInvalidState);
  EXPECT_EQ(h.child_pids("worker").size(), 1u);

  ASSERT_FALSE(client().manager_call("StopChild", "worker"));
  wait_child_state("worker", "stopped");
  e = client().manager_call("StopChild", "worker");
  EXPECT_EQ(e.name, kInvalidState);
  EXPECT_NE(e.message.find("stopped"), std::string::npos) << e.message;
  e = client().call(child_path("worker"), kChildInterface, "Stop");
  EXPECT_EQ(e.name, kInvalidState);
}

TEST_F(BusErrors, ReloadWithAnInvalidConfigurationIsConfigInvalidListingEveryProblem) {
  const Json good = h.config;
  Json bad_child = idle_child();
  bad_child["exec"] = {"relative/prog"};
  bad_child["restart_sc"] = 1;
  h.config["children"]["broken"] = bad_child;
  h.config["children"]["worker"]["after"] = {"nobody"};
  h.config["monitor_interval_sec"] = 0;
  h.write_config();
  // What the checker says about this very file: every one of its lines must be in the
  // error.
  const RunResult check =
      h.run_cli({"--check-config", "--config", h.config_file(), "--config-dir", h.dropin_dir()});
  ASSERT_EQ(check.exit_code, 78) << check.out << check.err;
  std::vector<std::string> problems;
  std::istringstream lines(check.err);
  for (std::string line; std::getline(lines, line);)
    if (line.find("problem(s) found") == std::string::npos) problems.push_back(line);
  ASSERT_GE(problems.size(), 4u) << check.err;

  const CallError e = client().call(kManagerPath, kManagerInterface, "Reload");
  EXPECT_EQ(e.name, kConfigInvalid);
  for (const auto& p : problems) EXPECT_NE(e.message.find(p), std::string::npos) << p;
  // Nothing changed: same children, same process.
  EXPECT_EQ(client().managed_objects().size(), 1u);
  EXPECT_EQ(h.child_pids("worker"), std::vector<pid_t>{worker_});
  EXPECT_EQ(prop<std::string>(client().manager_properties(), "State"), "running");
  // And a valid configuration reloads fine afterwards.
  h.config = good;
  h.write_config();
  EXPECT_FALSE(client().call(kManagerPath, kManagerInterface, "Reload"));
}

TEST_F(BusErrors, EmptyNameIsInvalidArgs) {
  for (const char* method : {"GetChild", "RestartChild", "StartChild", "StopChild"})
    EXPECT_EQ(client().manager_call(method, "").name, kInvalidArgs) << method;
}

TEST_F(BusErrors, MalformedCallsGetErrorsAndTheDaemonLivesOn) {
  const pid_t daemon = h.pid();
  const std::string manager = kManagerPath;
  const std::string child = child_path("worker");
  struct Case {
    const char* what;
    CallError error;
    std::string expected;  // "" for any error
  };
  const std::vector<Case> cases = {
      {"wrong argument type", client().call(manager, kManagerInterface, "GetChild", 42u),
       kInvalidArgs},
      {"missing argument", client().call(manager, kManagerInterface, "GetChild"), kInvalidArgs},
      {"extra argument",
       client().call(manager, kManagerInterface, "GetChild", std::string("worker"),
                     std::string("x")),
       kInvalidArgs},
      {"argument to a method that takes none",
       client().call(manager, kManagerInterface, "Reload", std::string("x")), kInvalidArgs},
      {"wrong type for RestartChild",
       client().call(manager, kManagerInterface, "RestartChild", true), kInvalidArgs},
      {"unknown method", client().call(manager, kManagerInterface, "Explode"),
       "org.freedesktop.DBus.Error.UnknownMethod"},
      {"unknown interface", client().call(manager, "org.duende.Nothing", "GetChild"), ""},
      {"Child method on the manager", client().call(manager, kChildInterface, "Restart"), ""},
      {"unknown object",
       client().call("/org/duende/MlockSupervisor1/child/nope", kChildInterface, "Restart"),
       "org.freedesktop.DBus.Error.UnknownObject"},
      {"unknown property",
       client().call(child, kPropertiesInterface, "Get", std::string(kChildInterface),
                     std::string("Colour")),
       "org.freedesktop.DBus.Error.UnknownProperty"},
      {"read-only property",
       client().call(child, kPropertiesInterface, "Set", std::string(kChildInterface),
                     std::string("Pid"), sdbus::Variant(std::uint32_t{1})),
       "org.freedesktop.DBus.Error.PropertyReadOnly"},
      {"GetAll of an unknown interface",
       client().call(child, kPropertiesInterface, "GetAll", std::string("org.duende.Nothing")), ""},
      {"huge name", client().manager_call("GetChild", std::string(4 << 20, 'x')), kNoSuchChild},
      {"huge name to RestartChild",
       client().manager_call("RestartChild", std::string(1 << 20, 'y')), kNoSuchChild},
      {"path-like name", client().manager_call("RestartChild", "../worker"), kNoSuchChild},
      {"name with a slash", client().manager_call("GetChild", "worker/x"), kNoSuchChild},
      {"name with a newline", client().manager_call("GetChild", "worker\n"), kNoSuchChild},
      {"name with an escape", client().manager_call("GetChild", "worker_2d"), kNoSuchChild},
  };
  for (const Case& c : cases) {
    EXPECT_TRUE(c.error) << c.what << ": no error";
    if (!c.expected.empty()) {
      EXPECT_EQ(c.error.name, c.expected) << c.what << ": " << c.error.message;
    }
  }
  // A stream of them, interleaved with good calls.
  for (int i = 0; i < 200; ++i) {
    EXPECT_TRUE(client().call(manager, kManagerInterface, "GetChild", std::int32_t{i}));
    EXPECT_FALSE(client().manager_call("GetChild", "worker"));
  }
  expect_daemon_unharmed(daemon);
  EXPECT_EQ(h.count("restart requested"), 0);
}

TEST_F(BusErrors, AClientThatVanishesMidCallDoesNotHurtTheDaemon) {
  const pid_t daemon = h.pid();
  // Calls sent without waiting for the reply, then the connection closed.
  for (int i = 0; i < 20; ++i) {
    auto connection = connect_bus(bus->address());
    auto proxy = sdbus::createProxy(*connection, kBusName, kManagerPath);
    auto call = proxy->createMethodCall(kObjectManagerInterface, "GetManagedObjects");
    call.dontExpectReply();
    proxy->callMethod(call);
    auto big = proxy->createMethodCall(kManagerInterface, "GetChild");
    big << std::string(1 << 20, 'z');
    big.dontExpectReply();
    proxy->callMethod(big);
  }
  expect_daemon_unharmed(daemon);
}

class BusErrorsWhileStopping : public BusTest {};

TEST_F(BusErrorsWhileStopping, ActionsAreInvalidStateAndTheNameGoesWithTheDaemon) {
  // Ready once it ignores SIGTERM (READY=1 comes after it set that up).
  Json slow = idle_child({"--ignore-term", "--ready"});
  slow["ready"] = "notify";
  slow["stop_timeout_sec"] = 3;  // the window in which the daemon is stopping
  h.config["children"]["slow"] = slow;
  start_daemon();
  wait_child_state("slow", "running");
  h.send_signal(SIGTERM);
  ASSERT_TRUE(eventually(
      [&] { return prop<std::string>(client().manager_properties(), "State") == "stopping"; }));
  for (const char* method : {"StartChild", "StopChild", "RestartChild"}) {
    const CallError e = client().manager_call(method, "slow");
    EXPECT_EQ(e.name, kInvalidState) << method;
    EXPECT_NE(e.message.find("stopping"), std::string::npos) << method << ": " << e.message;
  }
  EXPECT_EQ(client().call(kManagerPath, kManagerInterface, "Reload").name, kInvalidState);
  // Reading still works.
  EXPECT_EQ(prop<std::string>(client().child_properties("slow"), "State"), "stopping");
  EXPECT_EQ(h.wait_exit(), 0);
  EXPECT_FALSE(name_owned(bus->address()));
}

}  // namespace
}  // namespace duende::itest
