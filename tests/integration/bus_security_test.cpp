// Who may do what on the system bus: anyone may read properties, introspect, list the
// children and look one up; only root may own the name. The bus lets anyone send the
// mutating methods: the daemon decides (root, else polkit; bus_polkit_test.cpp). With no
// polkitd on the bus, as here, only root may start, stop, restart or reload. An
// unprivileged caller is uid/gid 65534 without groups (setpriv), using real clients
// (busctl, dbus-send).
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "bus_harness.hpp"

namespace duende::itest {
namespace {

constexpr const char* kAccessDenied = "org.freedesktop.DBus.Error.AccessDenied";

// The result of a dbus-send call: its error name and message ("" on success).
struct SendResult {
  int exit_code = -1;
  std::string error, message, out;
};

class BusSecurity : public BusTest {
 protected:
  void start_with_children() {
    h.config["children"]["demo-lib"] = idle_child();
    start_daemon();
    pid_ = static_cast<pid_t>(prop<std::uint32_t>(wait_child_state("demo-lib", "running"), "Pid"));
  }

  // dbus-send --system --print-reply to the daemon: `method` is Interface.Member.
  SendResult send(bool unprivileged, const std::string& path, const std::string& method,
                  const std::vector<std::string>& args = {},
                  const std::string& destination = kBusName) {
    std::vector<std::string> argv = {
        "dbus-send", "--system", "--print-reply", "--dest=" + destination, path, method};
    argv.insert(argv.end(), args.begin(), args.end());
    const RunResult r = run_program(argv, env(), unprivileged);
    SendResult s;
    s.exit_code = r.exit_code;
    s.out = r.out;
    // "Error org.freedesktop.DBus.Error.AccessDenied: Rejected send message, ..."
    if (r.err.rfind("Error ", 0) == 0) {
      const auto colon = r.err.find(": ");
      s.error = r.err.substr(6, colon - 6);
      s.message = colon == std::string::npos ? "" : r.err.substr(colon + 2);
    } else if (r.exit_code != 0) {
      s.error = "(no error name) " + r.err;
    }
    return s;
  }

  // Every mutating method, as (path, Interface.Member, args).
  std::vector<std::vector<std::string>> mutating_calls() const {
    const std::string manager = std::string(kManagerInterface) + ".";
    const std::string child = std::string(kChildInterface) + ".";
    const std::string path = child_path("demo-lib");
    return {{kManagerPath, manager + "RestartChild", "string:demo-lib"},
            {kManagerPath, manager + "StartChild", "string:demo-lib"},
            {kManagerPath, manager + "StopChild", "string:demo-lib"},
            {kManagerPath, manager + "ForceStopChild", "string:demo-lib"},
            {kManagerPath, manager + "Reload"},
            {kManagerPath, manager + "Reexec"},
            {path, child + "Restart"},
            {path, child + "Start"},
            {path, child + "Stop"}};
  }

  void expect_all_denied() {
    for (auto call : mutating_calls()) {
      SCOPED_TRACE(call[1]);
      const std::string path = call[0], method = call[1];
      call.erase(call.begin(), call.begin() + 2);
      const SendResult r = send(true, path, method, call);
      EXPECT_NE(r.exit_code, 0);
      EXPECT_EQ(r.error, kAccessDenied) << r.message;
      // The daemon's refusal, not the bus's ("Rejected send message").
      EXPECT_NE(r.message.find("polkit is not available"), std::string::npos) << r.message;
    }
    // Nothing happened.
    h.pause(300);
    EXPECT_EQ(h.child_pids("demo-lib"), std::vector<pid_t>{pid_});
    EXPECT_TRUE(process_alive(pid_));
    EXPECT_EQ(h.count("requested"), 0);
    EXPECT_EQ(h.count("reloading configuration"), 0);
  }

  pid_t pid_ = 0;
};

TEST_F(BusSecurity, ClientsRunAsNobodyReally) {
  const RunResult r = run_program({"id", "-u"}, env(), true);
  EXPECT_EQ(r.out, "65534\n");
  const RunResult g = run_program({"id", "-G"}, env(), true);
  EXPECT_EQ(g.out, "65534\n");
}

TEST_F(BusSecurity, AnyoneMayReadIntrospectListAndLookUp) {
  start_with_children();
  const std::string path = child_path("demo-lib");
  RunResult r = busctl({"get-property", kBusName, kManagerPath, kManagerInterface, "State"}, true);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "s \"running\"\n");
  r = busctl({"get-property", kBusName, path, kChildInterface, "Pid"}, true);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "u " + std::to_string(pid_) + "\n");
  r = busctl({"introspect", kBusName, kManagerPath}, true);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(".RestartChild"), std::string::npos) << r.out;
  r = busctl({"introspect", kBusName, path}, true);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(".LockedBytes"), std::string::npos) << r.out;
  r = busctl({"tree", "--list", kBusName}, true);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(path), std::string::npos) << r.out;
  r = busctl({"call", kBusName, kManagerPath, kObjectManagerInterface, "GetManagedObjects"}, true);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"" + path + "\""), std::string::npos) << r.out;
  r = busctl({"call", kBusName, kManagerPath, kManagerInterface, "ListChildren"}, true);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("a(ssubtt) 1 \"demo-lib\" \"running\" " + std::to_string(pid_), 0), 0u)
      << r.out;
  r = busctl({"call", kBusName, kManagerPath, kManagerInterface, "ListChildProperties"}, true);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("a(ssutttbtbttttttbua(usbtt)uuusbubsuissuasssstt) 1 \"demo-lib\" "
                        "\"running\" " +
                            std::to_string(pid_),
                        0),
            0u)
      << r.out;
  r = busctl({"call", kBusName, kManagerPath, kManagerInterface, "GetChild", "s", "demo-lib"},
             true);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "o \"" + path + "\"\n");
  r = busctl({"call", kBusName, path, kPropertiesInterface, "GetAll", "s", kChildInterface}, true);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"demo-lib\""), std::string::npos) << r.out;
  // A lookup that fails fails with the daemon's error, not the bus's refusal.
  const SendResult missing =
      send(true, kManagerPath, std::string(kManagerInterface) + ".GetChild", {"string:nope"});
  EXPECT_EQ(missing.error, std::string(kErrorPrefix) + "NoSuchChild");
}

TEST_F(BusSecurity, UnprivilegedCallersAreDeniedEveryMutatingMethod) {
  start_with_children();
  expect_all_denied();
  // busctl, too, reports the refusal and fails.
  const RunResult r = busctl(
      {"call", kBusName, kManagerPath, kManagerInterface, "RestartChild", "s", "demo-lib"}, true);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Access denied"), std::string::npos) << r.err;  // busctl's strerror
  // Writing a property is refused as well (and every property is read-only anyway).
  const SendResult set =
      send(true, child_path("demo-lib"), std::string(kPropertiesInterface) + ".Set",
           {"string:" + std::string(kChildInterface), "string:Pid", "variant:uint32:1"});
  EXPECT_EQ(set.error, kAccessDenied);
}

TEST_F(BusSecurity, RootMayCallEveryMutatingMethod) {
  start_with_children();
  const std::string manager = std::string(kManagerInterface) + ".";
  const std::string child = std::string(kChildInterface) + ".";
  const std::string path = child_path("demo-lib");
  const auto pid_now = [&] {
    return prop<std::uint32_t>(client().child_properties("demo-lib"), "Pid");
  };

  SendResult r = send(false, kManagerPath, manager + "RestartChild", {"string:demo-lib"});
  EXPECT_EQ(r.error, "");
  ASSERT_GT(h.wait_child_pid("demo-lib", 2), 0);
  wait_child_state("demo-lib", "running");
  EXPECT_EQ(pid_now(), static_cast<std::uint32_t>(h.child_pids("demo-lib").at(1)));

  r = send(false, path, child + "Stop");
  EXPECT_EQ(r.error, "");
  wait_child_state("demo-lib", "stopped");
  r = send(false, path, child + "Start");
  EXPECT_EQ(r.error, "");
  ASSERT_GT(h.wait_child_pid("demo-lib", 3), 0);
  wait_child_state("demo-lib", "running");
  r = send(false, path, child + "Restart");
  EXPECT_EQ(r.error, "");
  ASSERT_GT(h.wait_child_pid("demo-lib", 4), 0);
  r = send(false, kManagerPath, manager + "StopChild", {"string:demo-lib"});
  EXPECT_EQ(r.error, "");
  wait_child_state("demo-lib", "stopped");
  r = send(false, kManagerPath, manager + "StartChild", {"string:demo-lib"});
  EXPECT_EQ(r.error, "");
  ASSERT_GT(h.wait_child_pid("demo-lib", 5), 0);
  wait_child_state("demo-lib", "running");
  r = send(false, kManagerPath, manager + "Reload");
  EXPECT_EQ(r.error, "");
  EXPECT_TRUE(h.wait_for_log("reloading configuration"));
  EXPECT_EQ(pid_now(), static_cast<std::uint32_t>(h.child_pids("demo-lib").at(4)));
}

TEST_F(BusSecurity, OnlyRootMayOwnTheName) {
  // Before the daemon is there: nobody tries to take its name.
  const SendResult r =
      send(true, "/org/freedesktop/DBus", "org.freedesktop.DBus.RequestName",
           {std::string("string:") + kBusName, "uint32:4"}, "org.freedesktop.DBus");
  EXPECT_EQ(r.error, kAccessDenied) << r.message;
  EXPECT_FALSE(name_owned(bus->address()));
  start_with_children();  // root may (start_daemon waits until it does)
}

TEST_F(BusSecurity, TheDaemonRefusesUnprivilegedCallersEvenWhenThePolicyLetsThemThrough) {
  // A bus whose policy lets anyone call anything on the daemon (even what the project's
  // policy does not list): the daemon's own check still stands between nobody and a
  // restart.
  const std::string open_policy = h.path("open-policy.conf");
  std::ofstream(open_policy) << R"(<!DOCTYPE busconfig PUBLIC
 "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <policy user="root"><allow own="org.duende.MlockSupervisor1"/></policy>
  <policy context="default"><allow send_destination="org.duende.MlockSupervisor1"/></policy>
</busconfig>
)";
  bus.reset();
  bus = std::make_unique<PrivateBus>(h.dir(), open_policy);
  start_with_children();
  expect_all_denied();
  // Reading is still fine, and root still may.
  const RunResult list =
      busctl({"call", kBusName, kManagerPath, kManagerInterface, "ListChildren"}, true);
  EXPECT_EQ(list.exit_code, 0) << list.err;
  const SendResult root = send(
      false, kManagerPath, std::string(kManagerInterface) + ".RestartChild", {"string:demo-lib"});
  EXPECT_EQ(root.error, "");
  EXPECT_GT(h.wait_child_pid("demo-lib", 2), 0);
}

}  // namespace
}  // namespace duende::itest
