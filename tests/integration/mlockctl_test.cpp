// mlockctl against a running daemon on a private bus, as an operator and a script use
// it: status (table, one child, JSON, exit 3 for a child in trouble), list, start, stop,
// restart, reload (valid and invalid), watch, metrics (valid Prometheus text exposition
// whose values equal the bus's); without a daemon or a bus; unprivileged; --help.
#include <gtest/gtest.h>
#include <signal.h>

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "api/human_size.hpp"
#include "bus_harness.hpp"
#include "proc_peek.hpp"
#include "prometheus_exposition.hpp"
#include "text_lines.hpp"

namespace duende::itest {
namespace {

using test::lines_of;
using test::words;

using duende::supervisor::human_size;

// The problems --check-config reports for the harness's configuration, one per line.
std::vector<std::string> check_config_problems(const Harness& h) {
  const RunResult check =
      h.run_cli({"--check-config", "--config", h.config_file(), "--config-dir", h.dropin_dir()});
  std::vector<std::string> problems;
  for (const auto& line : lines_of(check.err))
    if (line.find("problem(s) found") == std::string::npos) problems.push_back(line);
  return problems;
}

class Mlockctl : public BusTest {
 protected:
  void SetUp() override {
    BusTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    h.config["children"]["swap0"] = locking_child();
    h.config["children"]["helper"] = idle_child({"--touch-mib", "1"});
  }

  void start_and_wait() {
    start_daemon();
    wait_child_state("swap0", "running");
    wait_child_state("helper", "running");
  }

  std::uint32_t bus_pid(const std::string& name) {
    return prop<std::uint32_t>(client().child_properties(name), "Pid");
  }
};

TEST_F(Mlockctl, StatusPrintsATableAndExitsZeroWhenAllIsWell) {
  start_and_wait();
  const RunResult r = mlockctl({"status"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.err, "");
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  const Properties manager = client().manager_properties();
  const std::string self =
      prop<bool>(manager, "SelfLocked")
          ? "self locked, " + human_size(prop<std::uint64_t>(manager, "SelfLockedBytes"))
          : "self NOT locked";
  EXPECT_EQ(lines[0].rfind(std::string("mlock-supervisor ") + kVersion + ": running; self ", 0), 0u)
      << lines[0];
  EXPECT_NE(lines[0].find(self), std::string::npos) << lines[0];
  // A first start: started a moment ago, never restarted nor re-executed.
  EXPECT_NE(lines[0].find("; started 20"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find(", 0 restarts, 0 re-execs"), std::string::npos) << lines[0];
  EXPECT_EQ(words(lines[1]), (std::vector<std::string>{"NAME", "STATE", "PID", "LOCKED", "VMLCK",
                                                       "VMSWAP", "RESTARTS", "IOFLUSH", "UP"}));
  // One row per child, sorted by name, values from the bus, columns under their headers.
  const std::vector<std::string> names = {"helper", "swap0"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    SCOPED_TRACE(names[i]);
    const Properties p = client().child_properties(names[i]);
    const std::string& row = lines[2 + i];
    const auto w = words(row);
    ASSERT_EQ(w.size(), 11u) << row;  // sizes are two words: "7.6 MiB"
    EXPECT_EQ(w[0], names[i]);
    EXPECT_EQ(w[1], "running");
    EXPECT_EQ(w[2], std::to_string(prop<std::uint32_t>(p, "Pid")));
    EXPECT_EQ(w[3], prop<bool>(p, "IsLocked") ? "yes" : "no");
    EXPECT_EQ(w[4] + " " + w[5], human_size(prop<std::uint64_t>(p, "LockedBytes")));
    EXPECT_EQ(w[6] + " " + w[7], "0 B");
    EXPECT_EQ(w[8], "0");
    // Not asked to be an I/O flusher: never "NO". The table was read before these
    // properties, so it may show "-" from before the child's first full check.
    const std::string io = prop<std::string>(p, "IoFlusher");
    EXPECT_TRUE(w[9] == "-" || w[9] == io) << w[9] << " vs IoFlusher \"" << io << "\"";
    EXPECT_NE(w[9], "NO");
    // Up for seconds (or minutes under a slow sanitizer build): one word, "12s", "1min3s".
    EXPECT_TRUE(w[10].back() == 's' || w[10].find("min") != std::string::npos) << w[10];
    for (const char* header :
         {"STATE", "PID", "LOCKED", "VMLCK", "VMSWAP", "RESTARTS", "IOFLUSH", "UP"}) {
      const auto column = lines[1].find(header);
      EXPECT_NE(row[column], ' ') << header << " column misaligned: \"" << row << "\"";
      EXPECT_EQ(row[column - 1], ' ') << header << " column misaligned: \"" << row << "\"";
    }
  }
  if (can_lock()) {
    EXPECT_EQ(words(lines[3])[3], "yes");
  }
  // No command means status.
  const RunResult plain = mlockctl({});
  EXPECT_EQ(plain.exit_code, 0);
  EXPECT_EQ(lines_of(plain.out).size(), 4u);
}

TEST_F(Mlockctl, StatusExitsThreeWhenAChildFailed) {
  h.config["children"]["ghost"] = failing_child();
  start_and_wait();
  wait_child_state("ghost", "failed");
  const RunResult r = mlockctl({"status"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 6u) << r.out;
  EXPECT_NE(lines[0].find(": degraded; "), std::string::npos) << lines[0];
  EXPECT_EQ(words(lines[2]).at(0), "ghost");
  EXPECT_EQ(words(lines[2]).at(1), "failed");
  EXPECT_EQ(words(lines[2]).at(2), "-");
  EXPECT_EQ(words(lines[2]).at(3), "-");
  EXPECT_EQ(lines[5], "ghost: failed: exec /nonexistent/prog: No such file or directory");
  // Only the named children count.
  EXPECT_EQ(mlockctl({"status", "helper", "swap0"}).exit_code, 0);
  EXPECT_EQ(mlockctl({"status", "ghost"}).exit_code, 3);
  const RunResult json = mlockctl({"--json", "status"});
  EXPECT_EQ(json.exit_code, 3);
  const auto doc = nlohmann::json::parse(json.out);
  EXPECT_EQ(doc["state"], "degraded");
  EXPECT_EQ(doc["children"][0]["name"], "ghost");
  EXPECT_EQ(doc["children"][0]["in_trouble"], true);
  EXPECT_EQ(doc["children"][1]["in_trouble"], false);
}

TEST_F(Mlockctl, StatusOfOneChildShowsOnlyIt) {
  start_and_wait();
  RunResult r = mlockctl({"status", "swap0"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(words(lines[2]).at(0), "swap0");
  EXPECT_EQ(words(lines[2]).at(2), std::to_string(bus_pid("swap0")));
  r = mlockctl({"status", "nope"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "mlockctl: no child named \"nope\"\n");
}

TEST_F(Mlockctl, StatusJsonEqualsTheBusAndProc) {
  start_and_wait();
  nlohmann::json doc;
  // The daemon's own VmLck is read live: take a document bracketed by equal readings.
  const bool stable = eventually([&] {
    const std::uint64_t before = test::vm_lck(h.pid());
    const RunResult r = mlockctl({"status", "--json"});  // the option may follow the command
    if (r.exit_code != 0) return false;
    doc = nlohmann::json::parse(r.out);
    if (doc["self_locked_bytes"] != before || test::vm_lck(h.pid()) != before) return false;
    // (and the children's figures are those of a monitor tick after they started)
    for (const auto& c : doc["children"])
      if (c["locked_bytes"] != test::vm_lck(c["pid"].get<pid_t>()) || c["resident_bytes"] == 0)
        return false;
    return true;
  });
  ASSERT_TRUE(stable) << doc.dump(2);
  EXPECT_EQ(doc["version"], kVersion);
  EXPECT_EQ(doc["state"], "running");
  EXPECT_EQ(doc["self_locked"], test::vm_lck(h.pid()) > 0);
  const Properties manager = client().manager_properties();
  EXPECT_EQ(doc["started_at_us"], prop<std::uint64_t>(manager, "StartedAt"));
  EXPECT_GT(doc["started_at_us"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(doc["restarts"], 0);
  EXPECT_EQ(doc["reexecs"], 0);
  EXPECT_EQ(doc["reexec_failure"], "");
  ASSERT_EQ(doc["children"].size(), 2u);
  for (const auto& c : doc["children"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    const Properties p = client().child_properties(name);
    const auto pid = static_cast<pid_t>(prop<std::uint32_t>(p, "Pid"));
    EXPECT_EQ(c["pid"], pid);
    EXPECT_EQ(c["started_at_us"], prop<std::uint64_t>(p, "StartedAt"));
    EXPECT_GE(c["started_at_us"], doc["started_at_us"]);
    EXPECT_EQ(c["adopted"], false);
    EXPECT_EQ(c["adopted_at_us"], 0);
    EXPECT_EQ(h.child_pids(name), std::vector<pid_t>{pid});
    EXPECT_EQ(c["state"], prop<std::string>(p, "State"));
    EXPECT_EQ(c["is_locked"], prop<bool>(p, "IsLocked"));
    EXPECT_EQ(c["must_be_locked"], prop<bool>(p, "MustBeLocked"));
    EXPECT_EQ(c["fully_locked"], prop<bool>(p, "FullyLocked"));
    EXPECT_EQ(c["locked_bytes"], test::vm_lck(pid));
    EXPECT_EQ(c["locked_bytes"], prop<std::uint64_t>(p, "LockedBytes"));
    EXPECT_EQ(c["swapped_bytes"], test::status_field(pid, "VmSwap").value_or(0));
    EXPECT_GT(c["resident_bytes"].get<std::uint64_t>(), 0u);
    EXPECT_EQ(c["restarts"], 0);
    EXPECT_EQ(c["last_exit_status"], 0);
    EXPECT_EQ(c["last_failure"], "");
    EXPECT_EQ(c["lock_report"], prop<std::string>(p, "LockReport"));
    EXPECT_EQ(c["command"].get<std::vector<std::string>>(),
              prop<std::vector<std::string>>(p, "Command"));
    EXPECT_EQ(c["in_trouble"], false);
  }
  EXPECT_EQ(doc["children"][0]["name"], "helper");  // sorted by name
  if (can_lock()) {
    EXPECT_GT(doc["children"][1]["locked_bytes"].get<std::uint64_t>(), 0u);
  }
}

TEST_F(Mlockctl, ListPrintsNameStatePidPerChild) {
  start_and_wait();
  const RunResult r = mlockctl({"list"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "helper running " + std::to_string(bus_pid("helper")) + "\nswap0 running " +
                       std::to_string(bus_pid("swap0")) + "\n");
  const RunResult json = mlockctl({"--json", "list"});
  EXPECT_EQ(json.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(json.out)["children"][1]["pid"], bus_pid("swap0"));
}

TEST_F(Mlockctl, StartStopAndRestartAct) {
  start_and_wait();
  const pid_t swap0 = h.child_pids("swap0").at(0), helper = h.child_pids("helper").at(0);

  // Each action returns once its outcome is there: no waiting for the bus afterwards.
  RunResult r = mlockctl({"restart", "swap0"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const Properties restarted = client().child_properties("swap0");
  EXPECT_EQ(prop<std::string>(restarted, "State"), "running");
  const pid_t swap0_again = static_cast<pid_t>(prop<std::uint32_t>(restarted, "Pid"));
  EXPECT_NE(swap0_again, swap0);
  EXPECT_EQ(r.out.rfind("swap0: running, pid " + std::to_string(swap0_again), 0), 0u) << r.out;
  if (can_lock()) {
    EXPECT_TRUE(prop<bool>(restarted, "IsLocked"));
    EXPECT_NE(r.out.find(", locked "), std::string::npos) << r.out;
  }
  EXPECT_TRUE(eventually([&] { return !process_alive(swap0); }));
  // An operator's restart is not an automatic one.
  EXPECT_EQ(prop<std::uint32_t>(client().child_properties("swap0"), "Restarts"), 0u);

  r = mlockctl({"stop", "helper"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "helper: stopped\n");
  EXPECT_EQ(prop<std::string>(client().child_properties("helper"), "State"), "stopped");
  EXPECT_EQ(bus_pid("helper"), 0u);
  EXPECT_TRUE(eventually([&] { return !process_alive(helper); }));
  EXPECT_NE(mlockctl({"list"}).out.find("helper stopped 0\n"), std::string::npos);

  // Idempotent: a stop of a stopped child succeeds and says so.
  r = mlockctl({"stop", "helper"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "helper is already stopped\n");

  r = mlockctl({"start", "helper"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(prop<std::string>(client().child_properties("helper"), "State"), "running");
  const std::uint32_t helper_again = bus_pid("helper");
  EXPECT_GT(helper_again, 0u);
  EXPECT_EQ(r.out, "helper: running, pid " + std::to_string(helper_again) + "\n");

  // A start of a running child succeeds and says so; an unknown child exits 4.
  r = mlockctl({"start", "helper"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "helper is already running, pid " + std::to_string(helper_again) + "\n");
  r = mlockctl({"stop", "nope"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(r.err, "mlockctl: no child named \"nope\"\n");
  EXPECT_EQ(h.child_pids("swap0").size(), 2u);
}

TEST_F(Mlockctl, ReloadAppliesAValidConfigurationAndPrintsEveryProblemOfAnInvalidOne) {
  start_and_wait();
  const Json good = h.config;
  h.config["children"]["late"] = idle_child();
  h.write_config();
  RunResult r = mlockctl({"reload"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  // It waited for the added child.
  const std::uint32_t late = bus_pid("late");
  EXPECT_EQ(r.out,
            "configuration reloaded: 1 added, 0 removed, 0 restarted, 2 kept\n"
            "  added     late: running, pid " +
                std::to_string(late) + "\n");

  Json broken = idle_child();
  broken["exec"] = {"relative"};
  broken["stop_signal"] = "SIGNOPE";
  h.config["children"]["broken"] = broken;
  h.config["children"]["helper"]["after"] = {"ghost"};
  h.write_config();
  const auto problems = check_config_problems(h);
  ASSERT_GE(problems.size(), 3u);
  r = mlockctl({"reload"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(
      r.err.rfind("mlockctl: the new configuration is invalid; the running one is kept:\n", 0), 0u)
      << r.err;
  for (const auto& p : problems) EXPECT_NE(r.err.find(p + "\n"), std::string::npos) << p;
  // Nothing changed.
  EXPECT_EQ(client().managed_objects().size(), 3u);
  EXPECT_EQ(h.child_pids("helper").size(), 1u);
  h.config = good;
}

// The client's side of a re-exec (the daemon's is tests/e2e): it waits for the new image
// and says what it kept; JSON has the same facts; status shows the adoption.
TEST_F(Mlockctl, ReexecWaitsForTheNewImageAndSaysWhatItKept) {
  start_and_wait();
  const pid_t daemon = h.pid();
  const std::vector<pid_t> swap0 = h.child_pids("swap0"), helper = h.child_pids("helper");
  RunResult r = mlockctl({"reexec"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, "mlock-supervisor re-executed in place (pid " + std::to_string(daemon) + ", " +
                       kVersion + "): 2 children kept, 2 adopted\n");
  EXPECT_EQ(h.pid(), daemon);
  EXPECT_EQ(h.child_pids("swap0"), swap0);
  EXPECT_EQ(h.child_pids("helper"), helper);
  const Properties manager = client().manager_properties();
  EXPECT_EQ(prop<std::uint32_t>(manager, "Reexecs"), 1u);
  EXPECT_EQ(prop<std::uint32_t>(manager, "Restarts"), 0u);
  EXPECT_EQ(prop<std::string>(manager, "ReexecFailure"), "");

  r = mlockctl({"status"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  EXPECT_NE(lines[0].find(", 0 restarts, 1 re-exec"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[4].rfind("adopted 20", 0), 0u) << lines[4];
  EXPECT_EQ(lines[4].substr(lines[4].find(": ")), ": helper, swap0") << lines[4];

  r = mlockctl({"--json", "reexec"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["pid"], daemon);
  EXPECT_EQ(doc["reexecs"], 2);
  EXPECT_EQ(doc["kept"].get<std::vector<std::string>>(),
            (std::vector<std::string>{"helper", "swap0"}));
  EXPECT_TRUE(doc["not_kept"].empty());
  const auto status = nlohmann::json::parse(mlockctl({"--json", "status"}).out);
  EXPECT_EQ(status["reexecs"], 2);
  for (const auto& c : status["children"]) {
    EXPECT_EQ(c["adopted"], true) << c["name"];
    EXPECT_GE(c["adopted_at_us"], status["started_at_us"]) << c["name"];
    EXPECT_LE(c["started_at_us"], c["adopted_at_us"]) << c["name"];
  }
}

// A binary or configuration the check rejects: the running image goes on, and mlockctl
// says why and exits 1.
TEST_F(Mlockctl, ReexecThatTheCheckRefusesSaysWhyAndExitsOne) {
  start_and_wait();
  const std::vector<pid_t> swap0 = h.child_pids("swap0");
  const Json good = h.config;
  h.config["children"]["helper"]["after"] = {"ghost"};
  h.write_config();
  const RunResult r = mlockctl({"reexec"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("mlockctl: re-exec failed: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("; the running supervisor goes on\n"), std::string::npos) << r.err;
  const Properties manager = client().manager_properties();
  EXPECT_EQ(prop<std::uint32_t>(manager, "Reexecs"), 0u);
  EXPECT_EQ(r.err, "mlockctl: re-exec failed: " + prop<std::string>(manager, "ReexecFailure") +
                       "; the running supervisor goes on\n");
  EXPECT_EQ(h.child_pids("swap0"), swap0);
  h.config = good;
}

TEST_F(Mlockctl, WatchPrintsChangesAsTheyHappen) {
  start_and_wait();
  BackgroundProgram watch({kMlockctlBin, "watch"}, env(), h.path("watch.out"));
  ASSERT_TRUE(eventually([&] {
    return watch.output().find("watching 2 children of mlock-supervisor") != std::string::npos;
  })) << watch.output();
  const pid_t old_pid = h.child_pids("helper").at(0);
  ASSERT_EQ(mlockctl({"restart", "helper"}).exit_code, 0);
  const pid_t new_pid = h.wait_child_pid("helper", 2);
  ASSERT_GT(new_pid, 0);
  // "HH:MM:SS helper: running → stopping", ..., "helper: pid N", "helper: starting → running".
  ASSERT_TRUE(eventually([&] {
    return watch.output().find("helper: starting → running") != std::string::npos;
  })) << watch.output();
  std::vector<std::string> helper;  // the lines about helper, without the time
  for (const auto& line : lines_of(watch.output()))
    if (line.find(" helper: ") == 8) helper.push_back(line.substr(9));
  const auto at = [&](const std::string& line) {
    return std::find(helper.begin(), helper.end(), line) - helper.begin();
  };
  const auto n = static_cast<std::ptrdiff_t>(helper.size());
  EXPECT_LT(at("helper: running → stopping"), n) << watch.output();
  EXPECT_LT(at("helper: pid " + std::to_string(new_pid)), n) << watch.output();
  EXPECT_LT(at("helper: running → stopping"), at("helper: starting → running"));
  EXPECT_LT(at("helper: running → stopping"), at("helper: pid " + std::to_string(new_pid)));
  EXPECT_EQ(at("helper: pid " + std::to_string(old_pid)), n) << "the old pid is no news";
  // No noise: no timestamps, no process lists, no figure going to 0 with the process.
  for (const auto& line : helper) {
    EXPECT_EQ(line.find("StartedAt"), std::string::npos) << line;
    EXPECT_EQ(line.find("Processes"), std::string::npos) << line;
    EXPECT_EQ(line.find("ResidentBytes"), std::string::npos) << line;
    EXPECT_EQ(line.find("Pid"), std::string::npos) << line;
  }
  // Children added and removed by a reload.
  h.config["children"]["late"] = idle_child();
  h.write_config();
  h.send_signal(SIGHUP);
  EXPECT_TRUE(eventually([&] {
    return watch.output().find(" late: added\n") != std::string::npos;
  })) << watch.output();
  h.config["children"].erase("late");
  h.write_config();
  h.send_signal(SIGHUP);
  EXPECT_TRUE(eventually([&] {
    return watch.output().find(" late: removed\n") != std::string::npos;
  })) << watch.output();
  EXPECT_TRUE(process_alive(watch.pid()));
  watch.stop();
  EXPECT_FALSE(process_alive(watch.pid()));
}

TEST_F(Mlockctl, MetricsIsValidExpositionFormatWithTheBussValues) {
  h.config["children"]["ghost"] = failing_child();
  start_and_wait();
  wait_child_state("ghost", "failed");
  Exposition e;
  ManagedObjects objects;
  std::string text;
  // Figures move only with the children; read both until a metrics run falls between two
  // equal bus snapshots.
  const bool stable = eventually([&] {
    const ManagedObjects before = client().managed_objects();
    const RunResult r = mlockctl({"metrics"});
    objects = client().managed_objects();
    text = r.out;
    e = parse_exposition(r.out);
    if (r.exit_code != 0) return false;
    for (const auto& [path, interfaces] : objects) {
      const Properties& p = interfaces.at(kChildInterface);
      const Properties& q = before.at(path).at(kChildInterface);
      for (const char* key : {"LockedBytes", "ResidentBytes", "SwappedBytes"})
        if (p.at(key).get<std::uint64_t>() != q.at(key).get<std::uint64_t>()) return false;
      if (p.at("Pid").get<std::uint32_t>() != q.at("Pid").get<std::uint32_t>()) return false;
    }
    return true;
  });
  ASSERT_TRUE(stable);
  for (const auto& err : e.errors) ADD_FAILURE() << err;
  EXPECT_TRUE(e.errors.empty()) << text;
  EXPECT_EQ(e.value("mlock_supervisor_up"), 1);
  EXPECT_EQ(e.value("mlock_supervisor_degraded"), 1);
  EXPECT_EQ(e.type.at("mlock_supervisor_child_restarts_total"), "counter");
  const Properties manager = client().manager_properties();
  const std::string version = prop<std::string>(manager, "Version");
  EXPECT_EQ(version, kVersion);
  EXPECT_EQ(e.value("mlock_supervisor_info", {{"version", version}}), 1) << text;
  EXPECT_EQ(e.count("mlock_supervisor_info"), 1u);
  EXPECT_EQ(e.value("mlock_supervisor_self_locked_bytes") > 0, prop<bool>(manager, "SelfLocked"));
  ASSERT_EQ(objects.size(), 3u);
  for (const auto& [path, interfaces] : objects) {
    const Properties& p = interfaces.at(kChildInterface);
    const std::string name = prop<std::string>(p, "Name");
    SCOPED_TRACE(name);
    const std::map<std::string, std::string> child = {{"child", name}};
    EXPECT_EQ(e.value("mlock_supervisor_child_locked", child), prop<bool>(p, "IsLocked"));
    EXPECT_EQ(e.value("mlock_supervisor_child_must_be_locked", child),
              prop<bool>(p, "MustBeLocked"));
    EXPECT_EQ(e.value("mlock_supervisor_child_in_trouble", child), name == "ghost" ? 1 : 0);
    EXPECT_EQ(e.value("mlock_supervisor_child_locked_bytes", child),
              prop<std::uint64_t>(p, "LockedBytes"));
    EXPECT_EQ(e.value("mlock_supervisor_child_swapped_bytes", child),
              prop<std::uint64_t>(p, "SwappedBytes"));
    EXPECT_EQ(e.value("mlock_supervisor_child_resident_bytes", child),
              prop<std::uint64_t>(p, "ResidentBytes"));
    EXPECT_EQ(e.value("mlock_supervisor_child_restarts_total", child),
              prop<std::uint32_t>(p, "Restarts"));
    EXPECT_EQ(e.value("mlock_supervisor_child_lock_lost_total", child),
              prop<std::uint32_t>(p, "LockLosses"));
    // StartedAt to the microsecond (the text has six decimals); 0 for the failed ghost.
    const std::uint64_t started = prop<std::uint64_t>(p, "StartedAt");
    EXPECT_EQ(started == 0, name == "ghost") << started;
    EXPECT_NEAR(e.value("mlock_supervisor_child_start_time_seconds", child), started / 1e6, 1e-6);
    // The ghost's exec failed: "exited" with 127; the others have not exited yet.
    const std::string how = prop<std::string>(p, "LastExitCode");
    EXPECT_EQ(how, name == "ghost" ? "exited" : "");
    if (name == "ghost") {
      EXPECT_EQ(prop<std::int32_t>(p, "LastExitStatus"), 127);
      EXPECT_EQ(e.value("mlock_supervisor_child_last_exit_code", child), 127);
    } else
      EXPECT_TRUE(std::isnan(e.value("mlock_supervisor_child_last_exit_code", child)));
    EXPECT_TRUE(std::isnan(e.value("mlock_supervisor_child_last_exit_signal", child)));
    for (const auto& state : kChildStates)
      EXPECT_EQ(e.value("mlock_supervisor_child_state", {{"child", name}, {"state", state}}),
                state == prop<std::string>(p, "State") ? 1 : 0)
          << state;
  }
  EXPECT_EQ(e.count("mlock_supervisor_child_state"), 3 * kChildStates.size());
  EXPECT_EQ(e.count("mlock_supervisor_child_locked"), 3u);
}

TEST_F(Mlockctl, WithoutADaemonSaysItIsNotRunning) {
  // The bus is there, the daemon is not.
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"status"}, {"list"}, {"restart", "swap0"}, {"reload"}, {"reexec"}}) {
    const RunResult r = mlockctl(args);
    EXPECT_EQ(r.exit_code, 7) << args[0];
    EXPECT_EQ(r.out, "") << args[0];
    EXPECT_EQ(r.err,
              "mlockctl: mlock-supervisor is not running (nobody owns org.duende.MlockSupervisor1 "
              "on the system bus; try: systemctl start mlock-supervisor)\n")
        << args[0];
  }
  RunResult r = mlockctl({"metrics"});
  EXPECT_EQ(r.exit_code, 0);
  Exposition e = parse_exposition(r.out);
  EXPECT_TRUE(e.errors.empty()) << r.out;
  EXPECT_EQ(e.samples.size(), 1u) << r.out;
  EXPECT_EQ(e.value("mlock_supervisor_up"), 0);
  EXPECT_NE(r.err.find("not running"), std::string::npos) << r.err;

  // No bus at all.
  bus->kill();
  r = mlockctl({"status"});
  EXPECT_EQ(r.exit_code, 69);
  EXPECT_NE(r.err.find("cannot connect to the system bus"), std::string::npos) << r.err;
  r = mlockctl({"metrics"});
  EXPECT_EQ(r.exit_code, 0);
  e = parse_exposition(r.out);
  EXPECT_TRUE(e.errors.empty()) << r.out;
  EXPECT_EQ(e.samples.size(), 1u) << r.out;
  EXPECT_EQ(e.value("mlock_supervisor_up"), 0);
}

TEST_F(Mlockctl, UnprivilegedUsersMayLookButNotAct) {
  start_and_wait();
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"restart", "swap0"}, {"stop", "swap0"}, {"start", "swap0"}, {"reload"}}) {
    const RunResult r = mlockctl(args, true);
    EXPECT_EQ(r.exit_code, 77) << args[0];
    // No polkitd on the test's bus: the daemon lets root only.
    EXPECT_EQ(r.err,
              "mlockctl: access denied: polkit is not available on the system bus to authorize "
              "org.duende.MlockSupervisor1.manage; without it only root may act (run as root, "
              "or ask an administrator for org.duende.MlockSupervisor1.manage through polkit)\n")
        << args[0];
  }
  RunResult r = mlockctl({"reexec"}, true);
  EXPECT_EQ(r.exit_code, 77);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "mlockctl: access denied: polkit is not available on the system bus to authorize "
            "org.duende.MlockSupervisor1.manage; without it only root may act (run as root, "
            "or ask an administrator for org.duende.MlockSupervisor1.manage through polkit)\n");
  EXPECT_EQ(h.child_pids("swap0").size(), 1u);
  EXPECT_EQ(h.count("requested"), 0);
  const RunResult status = mlockctl({"status"}, true);
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("swap0"), std::string::npos);
  const RunResult metrics = mlockctl({"metrics"}, true);
  EXPECT_EQ(parse_exposition(metrics.out).value("mlock_supervisor_up"), 1);
}

TEST_F(Mlockctl, HelpMentionsEveryCommandAndUsageErrorsExitTwo) {
  for (const char* flag : {"--help", "-h"}) {
    const RunResult r = mlockctl({flag});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out.rfind("Usage: mlockctl", 0), 0u);
    for (const char* word :
         {"status", "list", "show [NAME]", "start NAME", "stop NAME", "--force", "restart NAME",
          "reload", "reexec", "watch", "logs NAME", "metrics", "help [COMMAND]", "--json",
          "--no-block", "--timeout", "--version", "DBUS_SYSTEM_BUS_ADDRESS", "Exit status"})
      EXPECT_NE(r.out.find(word), std::string::npos) << word;
  }
  EXPECT_EQ(mlockctl({"--version"}).out, std::string("mlockctl ") + kVersion + "\n");
  RunResult r = mlockctl({"frobnicate"});
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_NE(r.err.find("unknown command \"frobnicate\""), std::string::npos) << r.err;
  r = mlockctl({"restart"});
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_NE(r.err.find("restart: expects 1 argument"), std::string::npos) << r.err;
  r = mlockctl({"--force", "start", "x"});  // only a stop can be forced
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_NE(r.err.find("--force is only for stop"), std::string::npos) << r.err;
  r = mlockctl({"--frob"});
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_NE(r.err.find("unknown option --frob"), std::string::npos) << r.err;
}

// The command line is checked before the bus is touched: a usage error is one (exit 64)
// whatever the state of the machine.
TEST_F(Mlockctl, UsageErrorsExit64EvenWithoutABus) {
  bus->kill();
  RunResult r = mlockctl({"frobnicate"});
  EXPECT_EQ(r.exit_code, 64) << r.err;
  EXPECT_NE(r.err.find("unknown command \"frobnicate\""), std::string::npos) << r.err;
  r = mlockctl({"restart"});
  EXPECT_EQ(r.exit_code, 64) << r.err;
  EXPECT_NE(r.err.find("restart: expects 1 argument"), std::string::npos) << r.err;
}

// Unknown options are refused wherever they stand, and commands without arguments
// refuse stray ones: a typo in a script must not pass unnoticed.
TEST_F(Mlockctl, StrayArgumentsAndUnknownOptionsAfterTheCommandAreUsageErrors) {
  start_and_wait();
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"status", "--frob"},
                                             {"list", "extra"},
                                             {"metrics", "extra"},
                                             {"list", "--verbose"},
                                             {"reexec", "now"}}) {
    const RunResult r = mlockctl(args);
    EXPECT_EQ(r.exit_code, 64) << args[0] << " " << args[1] << ": " << r.err;
  }
}

}  // namespace
}  // namespace duende::itest
