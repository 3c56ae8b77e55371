// polkit decides for every caller of a mutating method but root: on the test's private
// system bus, with python3-dbusmock's polkitd (or none), callers as nobody (uid 65534)
// through real clients (dbus-send, mlockctl) and a process that keeps many calls in flight.
// What is asserted is what a caller sees: the D-Bus error, the child's State read back,
// mlockctl's exit status and words, what polkit was asked (the mock logs its calls).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>
#include <tuple>
#include <vector>

#include "bus_harness.hpp"
#include "polkit_mock.hpp"

namespace duende::itest {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kAccessDenied = "org.freedesktop.DBus.Error.AccessDenied";
constexpr const char* kLimitsExceeded = "org.freedesktop.DBus.Error.LimitsExceeded";
constexpr int kMaxPending = 64;  // the daemon's cap on authorizations in flight

class BusPolkit : public BusTest {
 protected:
  void SetUp() override {
    BusTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (!dbusmock_available())
      GTEST_SKIP() << "python3-dbusmock is not installed (scripts/install-deps installs it)";
  }
  void TearDown() override {
    polkit.reset();
    BusTest::TearDown();
  }

  void start_polkit() { polkit = std::make_unique<PolkitMock>(bus->address(), h.path("pk.log")); }
  void start_with_child() {
    h.config["children"]["demo"] = idle_child();
    start_daemon();
    wait_child_state("demo", "running");
  }
  std::string state() { return prop<std::string>(client().child_properties("demo"), "State"); }

  // dbus-send to the manager; the error name ("" on success) and message.
  std::pair<std::string, std::string> send(bool unprivileged, const std::string& method,
                                           const std::vector<std::string>& args = {"string:demo"},
                                           const std::string& path = kManagerPath,
                                           const std::string& interface = kManagerInterface) {
    std::vector<std::string> argv = {"dbus-send",
                                     "--system",
                                     "--print-reply",
                                     "--dest=" + std::string(kBusName),
                                     path,
                                     interface + "." + method};
    argv.insert(argv.end(), args.begin(), args.end());
    const RunResult r = run_program(argv, env(), unprivileged);
    if (r.exit_code == 0) return {"", ""};
    if (r.err.rfind("Error ", 0) != 0) return {"(no error name) " + r.err, ""};
    std::string err = r.err;
    if (!err.empty() && err.back() == '\n') err.pop_back();
    const auto colon = err.find(": ");
    return {err.substr(6, colon - 6), colon == std::string::npos ? "" : err.substr(colon + 2)};
  }

  // Milliseconds a GetAll of the child takes, `n` times.
  std::vector<double> get_latencies(int n) {
    std::vector<double> out;
    for (int i = 0; i < n; ++i) {
      const auto t0 = Clock::now();
      (void)client().child_properties("demo");
      out.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::unique_ptr<PolkitMock> polkit;
};

TEST_F(BusPolkit, WithoutPolkitdOnlyRootMayAct) {
  start_with_child();
  RunResult r = mlockctl({"stop", "demo"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(state(), "stopped");

  const auto [error, message] = send(true, "StartChild");
  EXPECT_EQ(error, kAccessDenied);
  EXPECT_NE(message.find("polkit is not available"), std::string::npos) << message;
  EXPECT_NE(message.find("only root may act"), std::string::npos) << message;
  EXPECT_EQ(state(), "stopped");  // the refusal came after the decision: nothing started

  r = mlockctl({"start", "demo"}, true);
  EXPECT_EQ(r.exit_code, 77);
  EXPECT_NE(r.err.find("mlockctl: access denied: polkit is not available"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("(run as root, or ask an administrator for "
                       "org.duende.MlockSupervisor1.manage through polkit)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(state(), "stopped");
  EXPECT_EQ(h.count("start requested"), 0);

  r = mlockctl({"start", "demo"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(state(), "running");
  // The log names the caller with its uid.
  EXPECT_TRUE(h.wait_for_log("(uid 0) calls StartChild for demo"));
}

TEST_F(BusPolkit, APolkitYesLetsNobodyStopAndStart) {
  start_polkit();
  polkit->set_allowed({kPolkitManage});
  start_with_child();
  RunResult r = mlockctl({"stop", "demo"}, true);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(state(), "stopped");
  EXPECT_TRUE(h.wait_for_log("(uid 65534) calls StopChild for demo"));
  const auto [error, message] = send(true, "Start", {}, child_path("demo"), kChildInterface);
  EXPECT_EQ(error, "") << message;
  wait_child_state("demo", "running");
  EXPECT_EQ(polkit->checks(), 2);

  // What polkit costs a call, against root's (both answered InvalidState: it runs), and
  // against a read that needs no authorization: dbus-send started each time.
  const auto median_ms = [&](bool unprivileged, const char* method) {
    std::vector<double> ms;
    for (int i = 0; i < 5; ++i) {
      const auto t0 = Clock::now();
      const auto [e, m] =
          method ? send(unprivileged, method) : send(unprivileged, "GetChild", {"string:demo"});
      EXPECT_EQ(e, method ? std::string(kErrorPrefix) + "InvalidState" : "") << m;
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[2];
  };
  const double read_root = median_ms(false, nullptr), read_nobody = median_ms(true, nullptr);
  const double act_root = median_ms(false, "StartChild");
  const double act_nobody = median_ms(true, "StartChild");
  std::cout << "median ms, dbus-send included: GetChild root " << read_root << ", nobody "
            << read_nobody << "; StartChild root " << act_root << ", nobody through polkit "
            << act_nobody << "\n";
}

TEST_F(BusPolkit, APolkitNoChangesNothing) {
  start_polkit();  // denies everything
  start_with_child();
  const std::uint32_t pid = prop<std::uint32_t>(client().child_properties("demo"), "Pid");
  const std::string path = child_path("demo");
  for (const auto& [method, args, p, interface] :
       std::vector<std::tuple<std::string, std::vector<std::string>, std::string, std::string>>{
           {"StopChild", {"string:demo"}, kManagerPath, kManagerInterface},
           {"RestartChild", {"string:demo"}, kManagerPath, kManagerInterface},
           {"ForceStopChild", {"string:demo"}, kManagerPath, kManagerInterface},
           {"Reload", {}, kManagerPath, kManagerInterface},
           {"Reexec", {}, kManagerPath, kManagerInterface},
           {"Stop", {}, path, kChildInterface},
           {"Restart", {}, path, kChildInterface}}) {
    const auto [error, message] = send(true, method, args, p, interface);
    EXPECT_EQ(error, kAccessDenied) << method;
    EXPECT_EQ(message, std::string("not authorized: ") +
                           (method == "ForceStopChild" ? kPolkitForceStop : kPolkitManage))
        << method;
  }
  const RunResult r = mlockctl({"restart", "demo"}, true);
  EXPECT_EQ(r.exit_code, 77);
  EXPECT_EQ(r.err,
            "mlockctl: access denied: not authorized: org.duende.MlockSupervisor1.manage (run as "
            "root, or ask an administrator for org.duende.MlockSupervisor1.manage through "
            "polkit)\n");
  EXPECT_EQ(polkit->checks(), 8);
  const Properties now = client().child_properties("demo");
  EXPECT_EQ(prop<std::string>(now, "State"), "running");
  EXPECT_EQ(prop<std::uint32_t>(now, "Pid"), pid);
  EXPECT_EQ(h.count("requested"), 0);
  EXPECT_EQ(h.count("reloading configuration"), 0);
  // Root is never asked about: polkit says no to everyone, root acts all the same.
  EXPECT_EQ(send(false, "RestartChild").first, "");
  EXPECT_GT(h.wait_child_pid("demo", 2), 0);
  EXPECT_EQ(polkit->checks(), 8);
}

TEST_F(BusPolkit, ForceStopIsAnActionOfItsOwn) {
  start_polkit();
  polkit->set_allowed({kPolkitManage});
  start_with_child();
  const auto [error, message] = send(true, "ForceStopChild");
  EXPECT_EQ(error, kAccessDenied);
  EXPECT_EQ(message, std::string("not authorized: ") + kPolkitForceStop);
  EXPECT_EQ(state(), "running");
  const RunResult r = mlockctl({"stop", "--force", "demo"}, true);
  EXPECT_EQ(r.exit_code, 77);
  EXPECT_NE(r.err.find("ask an administrator for org.duende.MlockSupervisor1.force-stop"),
            std::string::npos)
      << r.err;
  polkit->set_allowed({kPolkitManage, kPolkitForceStop});
  EXPECT_EQ(send(true, "ForceStopChild").first, "");
  wait_child_state("demo", "stopped");
}

TEST_F(BusPolkit, AChallengeIsRefusedAndTheInteractiveFlagIsPassedOn) {
  start_polkit();
  polkit->challenge();
  start_with_child();
  // dbus-send does not allow interactive authorization; busctl does, by default.
  const auto [error, message] = send(true, "StopChild");
  EXPECT_EQ(error, kAccessDenied);
  EXPECT_EQ(message, std::string("access denied: ") + kPolkitManage +
                         " needs interactive authorization, which the call did not allow");
  const RunResult r =
      busctl({"call", kBusName, kManagerPath, kManagerInterface, "StopChild", "s", "demo"}, true);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(polkit->check_flags(), (std::vector<std::uint32_t>{0, 1}));  // AllowUserInteraction
  EXPECT_EQ(state(), "running");
}

TEST_F(BusPolkit, ReadsAreOpenToEveryoneAndNeverAskPolkit) {
  start_polkit();
  start_with_child();
  RunResult r = busctl({"get-property", kBusName, kManagerPath, kManagerInterface, "State"}, true);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = busctl({"call", kBusName, kManagerPath, kObjectManagerInterface, "GetManagedObjects"}, true);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(send(true, "GetChild").first, "");
  EXPECT_EQ(send(true, "ListChildren", {}).first, "");
  EXPECT_EQ(send(true, "ListChildProperties", {}).first, "");
  r = mlockctl({"status"}, true);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("demo"), std::string::npos) << r.out;
  EXPECT_EQ(polkit->checks(), 0);
}

TEST_F(BusPolkit, APendingCheckHoldsNothingElse) {
  start_polkit();
  polkit->set_allowed({kPolkitManage});
  h.config["children"]["flap"] = flapping_child();  // restarts every ~0.15 s: supervision
  start_with_child();
  const std::vector<double> before = get_latencies(20);
  polkit->hang(true);
  UnprivilegedCalls stop(bus->address(), 1, "StopChild", "demo");
  ASSERT_TRUE(eventually([&] { return polkit->checks() == 1; }));
  const std::vector<double> during = get_latencies(20);
  const auto restarts = [&] {
    return prop<std::uint32_t>(client().child_properties("flap"), "Restarts");
  };
  const std::uint32_t r0 = restarts();
  EXPECT_TRUE(eventually([&] { return restarts() >= r0 + 3; })) << "supervision stalled";
  std::cout << "GetAll ms before the pending check: median " << before[10] << ", max "
            << before.back() << "; during it: median " << during[10] << ", max " << during.back()
            << "\n";
  // A loop that waited on polkit would answer after polkit's timeout (seconds); a
  // generous bound relative to the same test's own baseline still tells the two apart.
  EXPECT_LT(during[10], 10 * before[10] + 50) << "median ms";
  EXPECT_LT(during.back(), 10 * before.back() + 500) << "max ms";
  EXPECT_EQ(state(), "running");    // still waiting for polkit
  EXPECT_EQ(daemon_threads(), 1u);  // and no thread does the waiting
  polkit->release();                // the answer it had: yes
  EXPECT_EQ(stop.results(), std::vector<std::string>{""});
  wait_child_state("demo", "stopped");
}

TEST_F(BusPolkit, PendingChecksAreCappedAndALeavingCallerFreesItsOwn) {
  start_polkit();
  start_with_child();
  polkit->hang(true);
  {
    UnprivilegedCalls flood(bus->address(), kMaxPending + 6, "RestartChild", "demo");
    ASSERT_TRUE(eventually([&] { return polkit->checks() == kMaxPending; }))
        << polkit->checks() << " checks";
    polkit->release();  // every one of them: no
    const std::vector<std::string> results = flood.results();
    EXPECT_EQ(std::count(results.begin(), results.end(), kAccessDenied), kMaxPending);
    EXPECT_EQ(std::count(results.begin(), results.end(), kLimitsExceeded), 6);
  }
  EXPECT_EQ(polkit->checks(), kMaxPending);
  // Callers that leave with their checks pending give their places back.
  UnprivilegedCalls leaving(bus->address(), kMaxPending, "RestartChild", "demo");
  ASSERT_TRUE(eventually([&] { return polkit->checks() == 2 * kMaxPending; }));
  leaving.leave();
  EXPECT_TRUE(h.wait_for_log("left the bus before its authorization finished", kMaxPending));
  UnprivilegedCalls next(bus->address(), 1, "RestartChild", "demo");
  EXPECT_TRUE(eventually([&] { return polkit->checks() == 2 * kMaxPending + 1; }))
      << "not asked about: refused at once?";
  polkit->release();
  EXPECT_EQ(next.results(), std::vector<std::string>{kAccessDenied});
  EXPECT_EQ(state(), "running");
  EXPECT_EQ(h.count("restart requested"), 0);
}

}  // namespace
}  // namespace duende::itest
