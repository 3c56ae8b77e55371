// mlockctl's reads against a real bus and daemon: they never start the supervisor (a bus
// with an activation file for the name: reads leave it untouched, an action triggers it);
// status without a daemon exits 7; show (every property, -p, --value, the manager's,
// --json); watch through the supervisor going away and coming back; logs runs journalctl
// with the child's matches and the supervisor's about it (a stand-in journalctl records
// its arguments), and says so when
// there is none; help per command, -V.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bus_harness.hpp"
#include "text_lines.hpp"

namespace duende::itest {
namespace {

using test::lines_of;

class MlockctlReads : public BusTest {
 protected:
  void SetUp() override {
    BusTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    h.config["children"]["helper"] = idle_child();
  }
};

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// A bus whose activation file for org.duende.MlockSupervisor1 runs a program that only
// leaves a mark: whoever triggers activation is seen.
class MlockctlActivation : public BusTest {
 protected:
  void SetUp() override {
    DUENDE_BUS_REQUIRE_ROOT();
    BusTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    bus.reset();
    const std::string services = h.path("services");
    ::mkdir(services.c_str(), 0755);
    h.write_file(services + "/org.duende.MlockSupervisor1.service",
                 "[D-BUS Service]\nName=org.duende.MlockSupervisor1\nExec=/bin/touch " + marker() +
                     "\nUser=root\n");
    h.write_file(h.path("policy.conf"),
                 std::string("<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-BUS Bus "
                             "Configuration 1.0//EN\"\n \"http://www.freedesktop.org/standards/"
                             "dbus/1.0/busconfig.dtd\">\n<busconfig>\n  <servicedir>") +
                     services + "</servicedir>\n  <include>" + kBusPolicy +
                     "</include>\n</busconfig>\n");
    const std::string bus_dir = h.path("bus2");
    ::mkdir(bus_dir.c_str(), 0755);
    bus = std::make_unique<PrivateBus>(bus_dir, h.path("policy.conf"));  // started
  }
  std::string marker() const { return h.path("activated"); }
};

TEST_F(MlockctlActivation, ReadsNeverStartTheSupervisorActionsMay) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"status"}, {"list"}, {"show"}, {"show", "helper"}, {"status", "helper"}}) {
    const RunResult r = mlockctl(args);
    EXPECT_EQ(r.exit_code, 7) << args[0] << ": " << r.err;
    EXPECT_EQ(r.err.rfind("mlockctl: mlock-supervisor is not running", 0), 0u) << r.err;
  }
  const RunResult metrics = mlockctl({"metrics"});
  EXPECT_EQ(metrics.exit_code, 0);
  EXPECT_NE(metrics.out.find("mlock_supervisor_up 0"), std::string::npos) << metrics.out;
  EXPECT_FALSE(exists(marker())) << "a read activated the supervisor";
  // The control: an action goes to the well-known name, which activates.
  // (The stand-in never takes the name: the call waits for the bus's activation timeout.)
  BackgroundProgram start({kMlockctlBin, "start", "helper"}, env(), h.path("start.out"));
  EXPECT_TRUE(eventually([&] { return exists(marker()); })) << bus->log_text();
  start.stop();
}

// A bus whose policy does not let Manager.ListChildProperties through (a daemon updated
// before its bus's policy was reloaded): status reads the children from
// GetManagedObjects instead, and says the same.
TEST_F(MlockctlReads, StatusReadsGetManagedObjectsWhereListChildPropertiesIsDenied) {
  h.config["children"]["second"] = idle_child();
  start_daemon();
  wait_child_state("helper", "running");
  wait_child_state("second", "running");
  const RunResult full = mlockctl({"status"});
  ASSERT_EQ(full.exit_code, 0) << full.err;
  h.stop();
  reset_client();
  bus.reset();
  h.write_file(h.path("deny.conf"),
               std::string("<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-BUS Bus "
                           "Configuration 1.0//EN\"\n \"http://www.freedesktop.org/standards/"
                           "dbus/1.0/busconfig.dtd\">\n<busconfig>\n  <include>") +
                   kBusPolicy +
                   "</include>\n  <policy context=\"mandatory\">\n    <deny "
                   "send_destination=\"org.duende.MlockSupervisor1\" send_interface=\"" +
                   kManagerInterface +
                   "\" send_member=\"ListChildProperties\"/>\n  </policy>\n</busconfig>\n");
  const std::string bus_dir = h.path("bus2");
  ::mkdir(bus_dir.c_str(), 0755);
  bus = std::make_unique<PrivateBus>(bus_dir, h.path("deny.conf"));
  start_daemon();
  wait_child_state("helper", "running");
  wait_child_state("second", "running");
  const RunResult denied =
      busctl({"call", kBusName, kManagerPath, kManagerInterface, "ListChildProperties"});
  EXPECT_NE(denied.exit_code, 0) << denied.out;
  const RunResult r = mlockctl({"status"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = lines_of(r.out), before = lines_of(full.out);
  ASSERT_EQ(lines.size(), before.size()) << r.out;
  for (std::size_t i = 1; i < lines.size(); ++i)  // name and state (pids are new)
    EXPECT_EQ(lines[i].substr(0, 15), before[i].substr(0, 15)) << r.out << full.out;
  EXPECT_EQ(lines.at(2).rfind("helper ", 0), 0u) << r.out;
  EXPECT_EQ(lines.at(3).rfind("second ", 0), 0u) << r.out;
}

TEST_F(MlockctlReads, StatusWithoutADaemonSaysItIsNotRunningAndExitsSeven) {
  const RunResult r = mlockctl({"status"});
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("mlockctl: mlock-supervisor is not running", 0), 0u) << r.err;
  const RunResult json = mlockctl({"--json", "status"});
  EXPECT_EQ(json.exit_code, 7);
}

TEST_F(MlockctlReads, ShowPrintsEveryPropertyAsKeyValue) {
  start_daemon();
  wait_child_state("helper", "running");
  RunResult r = mlockctl({"show", "helper"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = lines_of(r.out);
  EXPECT_EQ(lines.size(), kChildPropertyTypes.size()) << r.out;
  EXPECT_EQ(lines.at(0), "Name=helper");
  const Properties p = client().child_properties("helper");
  EXPECT_NE(r.out.find("\nPid=" + std::to_string(prop<std::uint32_t>(p, "Pid")) + "\n"),
            std::string::npos);
  EXPECT_NE(r.out.find("\nMustBeLocked=no\n"), std::string::npos) << r.out;
  for (const auto& [name, type] : kChildPropertyTypes)
    EXPECT_NE(r.out.find("\n" + name + "="), name == "Name" ? 0 : std::string::npos) << name;

  r = mlockctl({"show", "helper", "-p", "State,Pid", "--value"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "running\n" + std::to_string(prop<std::uint32_t>(p, "Pid")) + "\n");
  r = mlockctl({"show", "-p", "Version"});
  EXPECT_EQ(r.out, std::string("Version=") + kVersion + "\n");
  r = mlockctl({"show"});
  EXPECT_NE(r.out.find("\nState=running\n"), std::string::npos) << r.out;
  r = mlockctl({"--json", "show", "helper", "-p", "State"});
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["format"], 1);
  EXPECT_EQ(doc["properties"]["State"], "running");
  EXPECT_EQ(doc["properties"].size(), 1u);

  r = mlockctl({"show", "nope"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(r.err, "mlockctl: no child named \"nope\"\n");
  r = mlockctl({"show", "helper", "-p", "Frob"});
  EXPECT_EQ(r.exit_code, 64);
}

TEST_F(MlockctlReads, WatchSaysWhenTheSupervisorGoesAwayAndComesBack) {
  start_daemon();
  wait_child_state("helper", "running");
  BackgroundProgram watch({kMlockctlBin, "watch"}, env(), h.path("watch.out"));
  ASSERT_TRUE(eventually([&] {
    return watch.output().find("watching 1 children") != std::string::npos;
  })) << watch.output();
  BackgroundProgram json({kMlockctlBin, "--json", "watch"}, env(), h.path("watch.json"));
  ASSERT_TRUE(eventually([&] {
    return json.output().find("\"event\":\"watching\"") != std::string::npos;
  })) << json.output();
  ASSERT_EQ(h.stop(), 0);
  // eventually() gives up once the daemon has exited: poll with a deadline of our own.
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (watch.output().find("mlock-supervisor went away") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    ::usleep(10000);
  EXPECT_NE(watch.output().find("mlock-supervisor went away"), std::string::npos) << watch.output();
  start_daemon();
  EXPECT_TRUE(eventually([&] {
    return watch.output().find("mlock-supervisor is back: 1 children") != std::string::npos;
  })) << watch.output();
  EXPECT_TRUE(eventually([&] {
    return json.output().find("\"event\":\"supervisor-back\"") != std::string::npos;
  })) << json.output();
  for (const auto& line : lines_of(json.output())) {
    const auto doc = nlohmann::json::parse(line);
    EXPECT_EQ(doc["format"], 1) << line;
    EXPECT_TRUE(doc.contains("time_us")) << line;
  }
  EXPECT_NE(json.output().find("\"event\":\"supervisor-gone\""), std::string::npos);
  EXPECT_TRUE(process_alive(watch.pid()));
}

TEST_F(MlockctlReads, LogsRunsJournalctlWithTheChildsMatch) {
  const std::string bin = h.path("bin");
  ::mkdir(bin.c_str(), 0755);
  const std::string args_file = h.path("journalctl.args");
  h.write_file(bin + "/journalctl",
               "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done > " + args_file + "\necho line\n");
  ::chmod((bin + "/journalctl").c_str(), 0755);
  std::vector<std::string> e = env();
  for (auto& v : e)
    if (v.rfind("PATH=", 0) == 0) v = "PATH=" + bin;
  RunResult r = run_program({kMlockctlBin, "logs", "helper", "-n", "20", "-f"}, e);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "line\n");
  std::ifstream in(args_file);
  const std::string args((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The child's own output, or the supervisor's entries about it (CHILD=), from the unit.
  EXPECT_EQ(args,
            "_SYSTEMD_UNIT=mlock-supervisor.service\nSYSLOG_IDENTIFIER=helper\n+\n"
            "_SYSTEMD_UNIT=mlock-supervisor.service\nSYSLOG_IDENTIFIER=mlock-supervisor\n"
            "CHILD=helper\n--lines=20\n--follow\n");

  for (auto& v : e)
    if (v.rfind("PATH=", 0) == 0) v = "PATH=" + h.path("empty");
  r = run_program({kMlockctlBin, "logs", "helper"}, e);
  EXPECT_EQ(r.exit_code, 69);
  EXPECT_EQ(r.err.rfind("mlockctl: journalctl not found", 0), 0u) << r.err;
  EXPECT_EQ(mlockctl({"--json", "logs", "helper"}).exit_code, 64);
}

// The bash completion, sourced by a real bash (without the bash-completion package's
// helpers): commands, a command's options, and the running supervisor's children.
TEST_F(MlockctlReads, BashCompletionOffersCommandsOptionsAndChildren) {
  start_daemon();
  wait_child_state("helper", "running");
  const std::string bin_dir =
      std::string(kMlockctlBin).substr(0, std::string(kMlockctlBin).rfind('/'));
  std::vector<std::string> e = env();
  for (auto& v : e)
    if (v.rfind("PATH=", 0) == 0) v = "PATH=" + bin_dir + ":/usr/bin:/bin";
  const auto complete = [&](const std::string& words, int cword) {
    const RunResult r = run_program(
        {"bash", "-c",
         std::string("source ") + MLOCKCTL_COMPLETION + "; COMP_WORDS=(" + words +
             "); COMP_CWORD=" + std::to_string(cword) + "; _mlockctl; echo \"${COMPREPLY[*]}\""},
        e);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  };
  EXPECT_EQ(complete("mlockctl st", 1), "status start stop\n");
  EXPECT_EQ(complete("mlockctl stop --f", 2), "--force\n");
  EXPECT_EQ(complete("mlockctl stop h", 2), "helper\n");
  EXPECT_EQ(complete("mlockctl logs ''", 2), "helper\n");
}

TEST_F(MlockctlReads, HelpPerCommandAndVersion) {
  RunResult r = mlockctl({"stop", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("Usage: mlockctl [--json] stop NAME [--force]", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("already stopped"), std::string::npos);
  EXPECT_EQ(r.out.find("metrics"), std::string::npos) << "the global help";
  EXPECT_EQ(mlockctl({"help", "stop"}).out, r.out);
  EXPECT_EQ(mlockctl({"help"}).out, mlockctl({"--help"}).out);
  for (const char* v : {"-V", "--version"})
    EXPECT_EQ(mlockctl({v}).out, std::string("mlockctl ") + kVersion + "\n");
  for (const char* table : {"--help", "help"}) {
    r = mlockctl({table});
    for (const char* code :
         {"  0   ", "  1   ", "  3   ", "  4   ", "  7   ", "  64  ", "  69  ", "  77  "})
      EXPECT_NE(r.out.find(code), std::string::npos) << code;
  }
  r = mlockctl({"help", "frob"});
  EXPECT_EQ(r.exit_code, 64);
  r = mlockctl({"--json", "metrics"});
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_NE(r.err.find("--json is not for metrics"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace duende::itest
