// mlockctl's pure parts: the command line (usage errors before the bus), show's Key=value
// lines, how an action's outcome is judged and said, the reload diff, watch's noise
// filter, the UP column, and the help's exit-status table.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ctl/ctl_args.hpp"
#include "ctl/ctl_exit_codes.hpp"
#include "ctl/ctl_format.hpp"
#include "ctl/ctl_help.hpp"
#include "ctl/ctl_outcome.hpp"
#include "ctl/ctl_show.hpp"
#include "ctl/ctl_watch_filter.hpp"

namespace duende::supervisor {
namespace {

CtlChild child(const std::string& name, const std::string& state, std::uint32_t pid) {
  CtlChild c;
  c.name = name;
  c.state = state;
  c.pid = pid;
  c.started_at_us = pid ? 1000 + pid : 0;
  c.command = {"/bin/" + name};
  return c;
}

TEST(ParseArgs, DefaultsToStatusAndTakesOptionsAnywhere) {
  CtlArgs a = parse_args({});
  EXPECT_EQ(a.command, "status");
  a = parse_args({"stop", "x", "--force", "--timeout", "5", "--json"});
  EXPECT_EQ(a.command, "stop");
  EXPECT_EQ(a.names, std::vector<std::string>{"x"});
  EXPECT_TRUE(a.force && a.json);
  EXPECT_EQ(a.timeout, std::chrono::seconds(5));
  a = parse_args({"show", "x", "-p", "State,Pid", "--property=Name", "--value"});
  EXPECT_EQ(a.properties, (std::vector<std::string>{"State", "Pid", "Name"}));
  EXPECT_TRUE(a.value_only);
  a = parse_args({"logs", "x", "-n", "20", "-f"});
  EXPECT_EQ(*a.lines, 20u);
  EXPECT_TRUE(a.follow);
  a = parse_args({"reload", "--main-pid", "812"});
  EXPECT_EQ(*a.main_pid, 812);
  EXPECT_TRUE(parse_args({"stop", "--help"}).help);
  EXPECT_TRUE(parse_args({"-V"}).version);
}

TEST(ParseArgs, RefusesWhatACommandDoesNotTake) {
  for (const std::vector<std::string>& argv :
       std::vector<std::vector<std::string>>{{"frob"},
                                             {"start"},
                                             {"start", "a", "b"},
                                             {"list", "x"},
                                             {"--force", "start", "x"},
                                             {"status", "--frob"},
                                             {"list", "--timeout", "3"},
                                             {"start", "x", "--timeout", "soon"},
                                             {"start", "x", "--timeout"},
                                             {"--json", "metrics"},
                                             {"--json", "logs", "x"},
                                             {"show", "--value", "a", "b"},
                                             {"logs", "x", "-n", "-3"}}) {
    try {
      parse_args(argv);
      ADD_FAILURE() << argv[0] << " accepted";
    } catch (const UsageError& e) {
      EXPECT_EQ(e.code, 64);
    }
  }
}

TEST(FormatShow, PrintsKeyValueInInterfaceOrder) {
  CtlChild c = child("ramswap", "running", 42);
  c.must_be_locked = true;
  c.processes = {{42, "ramswap", true, 4096, 0}};
  const std::string all = format_show(c, {});
  EXPECT_EQ(all.rfind("Name=ramswap\nState=running\nPid=42\nStartedAt=1042\n", 0), 0u) << all;
  EXPECT_NE(all.find("\nMustBeLocked=yes\n"), std::string::npos);
  EXPECT_NE(all.find("\nCommand=/bin/ramswap\n"), std::string::npos);
  EXPECT_NE(all.find("\nProcesses=42 ramswap yes 4096 0\n"), std::string::npos);
  EXPECT_EQ(format_show(c, {{"Pid", "State"}, false}), "Pid=42\nState=running\n");
  EXPECT_EQ(format_show(c, {{"State"}, true}), "running\n");
  EXPECT_THROW(format_show(c, {{"Nope"}, false}), UsageError);
  ManagerProperties m;
  m.version = "0.1.0";
  EXPECT_EQ(format_show(m, {{"Version"}, false}), "Version=0.1.0\n");
  EXPECT_EQ(child_property_names().size(), show_entries(c).size());
}

TEST(Judge, StartIsDoneWhenRunningAndLockedAsRequired) {
  const CtlChild before = child("a", "stopped", 0);
  EXPECT_EQ(judge(Action::Start, before, child("a", "starting", 7)), Settle::Pending);
  CtlChild running = child("a", "running", 7);
  EXPECT_EQ(judge(Action::Start, before, running), Settle::Done);
  running.must_be_locked = true;
  EXPECT_EQ(judge(Action::Start, before, running), Settle::Pending);
  running.is_locked = true;
  EXPECT_EQ(judge(Action::Start, before, running), Settle::Done);
  for (const char* bad : {"failed", "backoff", "exited"})
    EXPECT_EQ(judge(Action::Start, before, child("a", bad, 0)), Settle::Failed) << bad;
}

TEST(Judge, RestartIsDoneOnlyWithAnotherProcess) {
  const CtlChild before = child("a", "running", 7);
  EXPECT_EQ(judge(Action::Restart, before, before), Settle::Pending);
  EXPECT_EQ(judge(Action::Restart, before, child("a", "stopping", 7)), Settle::Pending);
  EXPECT_EQ(judge(Action::Restart, before, child("a", "running", 8)), Settle::Done);
  EXPECT_EQ(judge(Action::Stop, before, child("a", "stopping", 7)), Settle::Pending);
  EXPECT_EQ(judge(Action::Stop, before, child("a", "stopped", 0)), Settle::Done);
}

TEST(FormatAction, SaysTheOutcomeAndWhereToLook) {
  ActionOutcome o{Action::Start, "ghost", "failed", child("ghost", "failed", 0)};
  o.child.last_failure = "exec /x: No such file or directory";
  EXPECT_EQ(format_action(o, false),
            "ghost failed to start (now failed): exec /x: No such file or directory\n"
            "  see: mlockctl logs ghost, journalctl -u mlock-supervisor\n");
  const auto doc = nlohmann::json::parse(format_action(o, true));
  EXPECT_EQ(doc["format"], 1);
  EXPECT_EQ(doc["result"], "failed");
  o = {Action::Stop, "a", "already", child("a", "stopped", 0)};
  EXPECT_EQ(format_action(o, false), "a is already stopped\n");
  o = {Action::Start, "a", "done", child("a", "running", 9)};
  EXPECT_EQ(format_action(o, false), "a: running, pid 9\n");
  o.result = "queued";
  EXPECT_EQ(format_action(o, false), "");
}

TEST(DiffChildren, NamesAddedRemovedRestartedAndKept) {
  CtlSnapshot before, after;
  before.children = {child("gone", "running", 1), child("same", "running", 2),
                     child("moved", "running", 3), child("cmd", "stopped", 0)};
  CtlChild cmd = child("cmd", "stopped", 0);
  cmd.command = {"/bin/other"};
  after.children = {child("same", "running", 2), child("moved", "running", 30), cmd,
                    child("new", "failed", 0)};
  const ReloadDiff d = diff_children(before, after);
  EXPECT_EQ(d.added, std::vector<std::string>{"new"});
  EXPECT_EQ(d.removed, std::vector<std::string>{"gone"});
  EXPECT_EQ(d.restarted, (std::vector<std::string>{"moved", "cmd"}));
  EXPECT_EQ(d.kept, std::vector<std::string>{"same"});
  EXPECT_EQ(d.failed, (std::vector<std::string>{"cmd", "new"}));
  const std::string text = format_reload(d, after, false);
  EXPECT_EQ(text.rfind("configuration reloaded: 1 added, 1 removed, 2 restarted, 1 kept\n", 0), 0u)
      << text;
  EXPECT_NE(text.find("  restarted moved: running, pid 30\n"), std::string::npos) << text;
  const auto rejected = nlohmann::json::parse(format_reload_rejected("a: x\nb: y", true));
  EXPECT_EQ(rejected["problems"].size(), 2u);
}

TEST(WatchFilter, PrintsStatesInWordsAndSuppressesNoise) {
  WatchFilter f;
  f.seed("a", {{"State", "running"},
               {"Pid", "7"},
               {"ResidentBytes", "8388608"},
               {"LockedBytes", "8388608"},
               {"StartedAt", "5"}});
  EXPECT_EQ(f.changes("a", {{"State", "running"}}), std::vector<std::string>{});
  EXPECT_EQ(f.changes("a", {{"State", "stopping"}}),
            std::vector<std::string>{"a: running → stopping"});
  // The state first, then the new pid; the process's figures going to 0 are no news.
  EXPECT_EQ(
      f.changes("a",
                {{"Pid", "9"}, {"State", "running"}, {"StartedAt", "6"}, {"ResidentBytes", "0"}}),
      (std::vector<std::string>{"a: stopping → running", "a: pid 9"}));
  // Small moves of a figure are not printed; a lock going to 0 is.
  EXPECT_TRUE(f.changes("a", {{"LockedBytes", "8392704"}}).empty());
  EXPECT_EQ(f.changes("a", {{"LockedBytes", "0"}}),
            std::vector<std::string>{"a: LockedBytes 8388608 → 0"});
  EXPECT_TRUE(is_churning("SwapUsedBytes"));
  EXPECT_FALSE(is_churning("State"));
}

TEST(FormatUptime, OneWordPerDuration) {
  constexpr std::uint64_t s = 1000000;
  EXPECT_EQ(format_uptime(0, 5 * s), "-");
  EXPECT_EQ(format_uptime(s, 46 * s), "45s");
  EXPECT_EQ(format_uptime(s, 183 * s), "3min2s");
  EXPECT_EQ(format_uptime(s, (2 * 3600 + 300 + 1) * s), "2h5min");
  EXPECT_EQ(format_uptime(s, (3 * 86400 + 4 * 3600 + 1) * s), "3d4h");
}

TEST(CtlInTrouble, CountsBackoff) {
  EXPECT_TRUE(ctl_in_trouble(child("a", "backoff", 0)));
  EXPECT_FALSE(ctl_in_trouble(child("a", "running", 3)));
}

TEST(Help, EveryCommandHasItsOwnAndTheTableIsInBoth) {
  for (const auto& name : command_names()) {
    const auto text = command_help(name);
    ASSERT_TRUE(text) << name;
    EXPECT_EQ(text->rfind("Usage: mlockctl ", 0), 0u) << name;
    EXPECT_NE(text->find(exit_status_table()), std::string::npos) << name;
    EXPECT_NE(global_help().find("  " + name), std::string::npos) << name;
  }
  EXPECT_FALSE(command_help("frob"));
}

}  // namespace
}  // namespace duende::supervisor
