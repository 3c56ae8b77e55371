// format_metrics' history and identity series: mlock_supervisor_info, each child's lost
// locks, the start time of its running process, and how its last process ended, as
// node_exporter's textfile collector would read them (the exposition-format validator the
// integration tests use too), values exact to the microsecond.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include "ctl/ctl_format.hpp"
#include "prometheus_exposition.hpp"

namespace duende::supervisor {
namespace {

using itest::Exposition;
using itest::parse_exposition;
using Labels = std::map<std::string, std::string>;

// 2026-12-01 15:03:12.000042 UTC, in µs since the epoch.
constexpr std::uint64_t kStarted = 1796137392ull * 1000000 + 42;

CtlChild child(const std::string& name, const std::string& state) {
  CtlChild c;
  c.name = name;
  c.state = state;
  return c;
}

// One child of each history: running since kStarted after a lost lock and a kill; one that
// exited 3 and waits for its restart; one whose program could not be run; one never
// started; one adopted and reaped elsewhere (status unknown); one that dumped core.
CtlSnapshot histories() {
  CtlSnapshot s;
  s.version = "0.4.1";
  s.state = "degraded";
  CtlChild live = child("live", "running");
  live.pid = 4242;
  live.started_at_us = kStarted;
  live.lock_losses = 2;
  live.last_exit_code = kExitCodeKilled;
  live.last_exit_status = -9;
  CtlChild flapping = child("flapping", "backoff");
  flapping.last_exit_code = kExitCodeExited;
  flapping.last_exit_status = 3;
  CtlChild ghost = child("ghost", "failed");
  ghost.last_exit_code = kExitCodeExited;
  ghost.last_exit_status = 127;
  CtlChild idle = child("idle", "stopped");
  CtlChild orphan = child("orphan", "exited");
  orphan.last_exit_code = kExitCodeUnknown;
  orphan.last_exit_status = kExitStatusUnknown;
  CtlChild crashed = child("crashed", "backoff");
  crashed.last_exit_code = kExitCodeDumped;
  crashed.last_exit_status = -11;
  s.children = {crashed, flapping, ghost, idle, live, orphan};
  return s;
}

Exposition parsed(const CtlSnapshot& s) {
  const std::string text = format_metrics(s);
  Exposition e = parse_exposition(text);
  for (const auto& err : e.errors) ADD_FAILURE() << err << "\n" << text;
  return e;
}

TEST(MetricsInfo, CarriesTheVersionAsALabelWithValueOne) {
  const Exposition e = parsed(histories());
  EXPECT_EQ(e.value("mlock_supervisor_info", {{"version", "0.4.1"}}), 1);
  EXPECT_EQ(e.count("mlock_supervisor_info"), 1u);
  EXPECT_EQ(e.type.at("mlock_supervisor_info"), "gauge");
  // Unreachable: no version to tell, so no info either (only up 0).
  EXPECT_EQ(parse_exposition(format_metrics(std::nullopt)).count("mlock_supervisor_info"), 0u);
}

TEST(MetricsInfo, EscapesAnOddVersion) {
  CtlSnapshot s;
  s.version = "1.0\"rc\\1";
  EXPECT_EQ(parsed(s).value("mlock_supervisor_info", {{"version", s.version}}), 1);
}

TEST(MetricsLockLost, IsACounterPerChildFromLockLosses) {
  const Exposition e = parsed(histories());
  EXPECT_EQ(e.type.at("mlock_supervisor_child_lock_lost_total"), "counter");
  EXPECT_EQ(e.value("mlock_supervisor_child_lock_lost_total", {{"child", "live"}}), 2);
  EXPECT_EQ(e.value("mlock_supervisor_child_lock_lost_total", {{"child", "idle"}}), 0);
  EXPECT_EQ(e.count("mlock_supervisor_child_lock_lost_total"), 6u);
}

TEST(MetricsStartTime, SecondsSinceTheEpochToTheMicrosecondAndZeroWithoutAProcess) {
  const CtlSnapshot s = histories();
  const std::string text = format_metrics(s);
  // Exact decimal text, not a rounded double.
  EXPECT_NE(text.find("mlock_supervisor_child_start_time_seconds{child=\"live\"} "
                      "1796137392.000042\n"),
            std::string::npos)
      << text;
  const Exposition e = parsed(s);
  EXPECT_EQ(e.type.at("mlock_supervisor_child_start_time_seconds"), "gauge");
  EXPECT_DOUBLE_EQ(e.value("mlock_supervisor_child_start_time_seconds", {{"child", "live"}}),
                   1796137392.000042);
  // Every child has the series (a rule can tell "not running" from "not reported").
  for (const char* name : {"crashed", "flapping", "ghost", "idle", "orphan"})
    EXPECT_EQ(e.value("mlock_supervisor_child_start_time_seconds", {{"child", name}}), 0) << name;
}

TEST(MetricsStartTime, AWholeSecondKeepsItsSixDecimals) {
  CtlSnapshot s;
  CtlChild c = child("c", "running");
  c.started_at_us = 5000000;
  s.children = {c};
  EXPECT_NE(format_metrics(s).find("{child=\"c\"} 5.000000\n"), std::string::npos);
}

// systemd's ExecMainCode/ExecMainStatus split: an exit status or a signal, never a sign to
// decode, and nothing where there is nothing to say.
TEST(MetricsLastExit, ExitStatusOrSignalPerHowTheLastProcessEnded) {
  const Exposition e = parsed(histories());
  EXPECT_EQ(e.type.at("mlock_supervisor_child_last_exit_code"), "gauge");
  EXPECT_EQ(e.type.at("mlock_supervisor_child_last_exit_signal"), "gauge");
  const auto code = [&](const char* n) {
    return e.value("mlock_supervisor_child_last_exit_code", {{"child", n}});
  };
  const auto signal = [&](const char* n) {
    return e.value("mlock_supervisor_child_last_exit_signal", {{"child", n}});
  };
  EXPECT_EQ(code("flapping"), 3);
  EXPECT_EQ(code("ghost"), 127);
  EXPECT_EQ(signal("live"), 9);
  EXPECT_EQ(signal("crashed"), 11);  // dumped core: a signal all the same
  for (const char* n : {"flapping", "ghost"}) EXPECT_TRUE(std::isnan(signal(n))) << n;
  for (const char* n : {"live", "crashed"}) EXPECT_TRUE(std::isnan(code(n))) << n;
  // Never exited, or exited with a status nobody kept: neither series.
  for (const char* n : {"idle", "orphan"}) {
    EXPECT_TRUE(std::isnan(code(n))) << n;
    EXPECT_TRUE(std::isnan(signal(n))) << n;
  }
  EXPECT_EQ(e.count("mlock_supervisor_child_last_exit_code"), 2u);
  EXPECT_EQ(e.count("mlock_supervisor_child_last_exit_signal"), 2u);
}

TEST(MetricsLastExit, AFamilyWithoutSamplesStillHasItsHelpAndType) {
  CtlSnapshot s;
  s.children = {child("idle", "stopped")};
  const Exposition e = parsed(s);
  EXPECT_EQ(e.count("mlock_supervisor_child_last_exit_code"), 0u);
  EXPECT_EQ(e.type.count("mlock_supervisor_child_last_exit_code"), 1u);
  EXPECT_FALSE(e.help.at("mlock_supervisor_child_last_exit_signal").empty());
}

}  // namespace
}  // namespace duende::supervisor
