// Validation of the merged document: each rule names the exact JSON pointer at fault.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace duende::supervisor {
namespace {

// A document with one child "c" whose members are `members` (JSON object body).
std::string child(const std::string& members) {
  return R"({"children": {"c": {)" + members + "}}}";
}

// The same, with a valid exec in front.
std::string child_with_exec(const std::string& members) {
  return child(R"("exec": ["/usr/bin/c"], )" + members);
}

struct RuleCase {
  std::string label;
  std::string document;
  std::string pointer;
  std::string message;
};

void PrintTo(const RuleCase& rule, std::ostream* out) { *out << rule.label; }

class ValidationRule : public testing::TestWithParam<RuleCase> {};

TEST_P(ValidationRule, ReportsExactlyOneProblemAtThePointer) {
  const RuleCase& rule = GetParam();
  ConfigResult result = config_from_documents({{"main.json", rule.document}});
  ASSERT_FALSE(result.has_value()) << rule.document;
  std::string all;
  for (const ConfigProblem& problem : result.error()) all += problem.to_string() + "\n";
  ASSERT_EQ(result.error().size(), 1u) << all;
  const ConfigProblem& problem = result.error()[0];
  EXPECT_EQ(problem.file, "main.json");
  EXPECT_EQ(problem.where, rule.pointer);
  EXPECT_EQ(problem.message, rule.message);
}

const std::string kNameRule =
    "\": use 1 to 64 of A-Z a-z 0-9 _ . @ -, starting with a letter or digit (names become "
    "D-Bus object paths and journal identifiers)";

INSTANTIATE_TEST_SUITE_P(
    TopLevel, ValidationRule,
    testing::Values(
        RuleCase{"UnknownKey", R"({"monitr_interval_sec": 1})", "/monitr_interval_sec",
                 R"(unknown key "monitr_interval_sec"; did you mean "monitor_interval_sec"?)"},
        RuleCase{"UnknownKeyFarFromAny", R"({"programs": {}})", "/programs",
                 R"(unknown key "programs")"},
        RuleCase{"SelfNotObject", R"({"self": 1})", "/self", "must be an object, got number"},
        RuleCase{"SelfUnknownKey", R"({"self": {"mlok": {}}})", "/self/mlok",
                 R"(unknown key "mlok"; did you mean "mlock"?)"},
        RuleCase{"SelfMlockNotBool", R"({"self": {"mlock": {"future": "yes"}}})",
                 "/self/mlock/future", "must be a boolean, got string"},
        RuleCase{"OnfaultAlone",
                 R"({"self": {"mlock": {"current": false, "future": false, "onfault": true}}})",
                 "/self/mlock/onfault",
                 R"(needs "current" or "future": mlockall() rejects MCL_ONFAULT alone)"},
        RuleCase{"MonitorTooShort", R"({"monitor_interval_sec": 0.01})", "/monitor_interval_sec",
                 "must be between 0.05 and 3600, got 0.01"},
        RuleCase{"MonitorNotNumber", R"({"monitor_interval_sec": "1"})", "/monitor_interval_sec",
                 "must be a number of seconds, got string"},
        RuleCase{"FullCheckTooLong", R"({"full_check_interval_sec": 100000})",
                 "/full_check_interval_sec", "must be between 0.05 and 86400, got 100000"},
        RuleCase{"ChildrenNotObject", R"({"children": []})", "/children",
                 "must be an object mapping child names to their settings, got array"},
        RuleCase{"ChildNotObject", R"({"children": {"c": "x"}})", "/children/c",
                 "must be an object, got string"},
        RuleCase{"ChildNameWithSpace", R"({"children": {"bad name": {"exec": ["/bin/x"]}}})",
                 "/children/bad name", "invalid child name \"bad name" + kNameRule},
        RuleCase{"ChildNameLeadingDash", R"({"children": {"-x": {"exec": ["/bin/x"]}}})",
                 "/children/-x", "invalid child name \"-x" + kNameRule},
        RuleCase{"ChildNameWithSlash", R"({"children": {"a/b": {"exec": ["/bin/x"]}}})",
                 "/children/a~1b", "invalid child name \"a/b" + kNameRule},
        RuleCase{"ChildNameTooLong",
                 R"({"children": {")" + std::string(65, 'n') + R"(": {"exec": ["/bin/x"]}}})",
                 "/children/" + std::string(65, 'n'),
                 "invalid child name \"" + std::string(65, 'n') + kNameRule}),
    [](const auto& info) { return info.param.label; });

INSTANTIATE_TEST_SUITE_P(
    Exec, ValidationRule,
    testing::Values(
        RuleCase{
            "Missing", child(R"("restart": "no")"), "/children/c/exec",
            R"(is required: the program's absolute path and its arguments, like ["/usr/bin/server", "--flag"])"},
        RuleCase{"Empty", child(R"("exec": [])"), "/children/c/exec",
                 "must not be empty: exec[0] is the program's absolute path"},
        RuleCase{"String", child(R"("exec": "/bin/ls -l")"), "/children/c/exec",
                 R"(must be an array of strings like ["/usr/bin/server", "--flag"], got string)"},
        RuleCase{"NumberArgument", child(R"("exec": ["/bin/sleep", 5])"), "/children/c/exec/1",
                 "must be a string, got number"},
        RuleCase{"RelativeProgram", child(R"("exec": ["ls", "-l"])"), "/children/c/exec/0",
                 R"(exec[0] must be an absolute path, got "ls")"},
        RuleCase{"NulInArgument", child(R"("exec": ["/bin/echo", "a\u0000b"])"),
                 "/children/c/exec/1", "must not contain a NUL character"}),
    [](const auto& info) { return info.param.label; });

INSTANTIATE_TEST_SUITE_P(
    Environment, ValidationRule,
    testing::Values(
        RuleCase{"NotObject", child_with_exec(R"("environment": ["A=1"])"),
                 "/children/c/environment",
                 "must be an object mapping variable names to strings, got array"},
        RuleCase{"NumberValue", child_with_exec(R"("environment": {"PORT": 80})"),
                 "/children/c/environment/PORT", "must be a string, got number"},
        RuleCase{
            "NameWithEquals", child_with_exec(R"("environment": {"A=B": "1"})"),
            "/children/c/environment/A=B",
            R"(invalid variable name "A=B": names must be non-empty and contain no '=' or NUL)"},
        RuleCase{"EmptyName", child_with_exec(R"("environment": {"": "1"})"),
                 "/children/c/environment/",
                 R"(invalid variable name "": names must be non-empty and contain no '=' or NUL)"},
        RuleCase{"RelativeWorkingDirectory", child_with_exec(R"("working_directory": "tmp")"),
                 "/children/c/working_directory", R"(must be an absolute path, got "tmp")"},
        RuleCase{"WorkingDirectoryNotString", child_with_exec(R"("working_directory": true)"),
                 "/children/c/working_directory", "must be a string, got boolean"}),
    [](const auto& info) { return info.param.label; });

INSTANTIATE_TEST_SUITE_P(
    Identity, ValidationRule,
    testing::Values(
        RuleCase{"UnknownUser", child_with_exec(R"("user": "no-such-user-mlock-test")"),
                 "/children/c/user", R"(unknown user "no-such-user-mlock-test")"},
        RuleCase{"UnknownGroup", child_with_exec(R"("group": "no-such-group-mlock-test")"),
                 "/children/c/group", R"(unknown group "no-such-group-mlock-test")"},
        RuleCase{"UserNotNameOrId", child_with_exec(R"("user": ["root"])"), "/children/c/user",
                 "must be a name or a numeric id, got array"},
        RuleCase{"NegativeUid", child_with_exec(R"("user": -1)"), "/children/c/user",
                 "must be between 0 and 4294967294, got -1"},
        RuleCase{"UidTooLargeAsString", child_with_exec(R"("group": "4294967295")"),
                 "/children/c/group", R"(must be between 0 and 4294967294, got "4294967295")"},
        RuleCase{"EmptyUser", child_with_exec(R"("user": "")"), "/children/c/user",
                 "must not be empty"},
        RuleCase{"NumericUserWithoutPasswdEntryNeedsGroup", child_with_exec(R"("user": "4000000")"),
                 "/children/c/user",
                 R"(user 4000000 has no passwd entry, so no primary group; set "group" too)"}),
    [](const auto& info) { return info.param.label; });

INSTANTIATE_TEST_SUITE_P(
    Locking, ValidationRule,
    testing::Values(
        RuleCase{"PreloadNotBool", child_with_exec(R"("preload": "yes")"), "/children/c/preload",
                 "must be a boolean, got string"},
        RuleCase{"MlockNotObject", child_with_exec(R"("mlock": true)"), "/children/c/mlock",
                 "must be an object, got boolean"},
        RuleCase{"MlockTypo", child_with_exec(R"("mlock": {"ioflusher": true})"),
                 "/children/c/mlock/ioflusher",
                 R"(unknown key "ioflusher"; did you mean "io_flusher"?)"},
        RuleCase{
            "MemlockBadSuffix", child_with_exec(R"("limit_memlock": "64X")"),
            "/children/c/limit_memlock",
            R"(must be "infinity" or a size: "64X" is not a size (expected digits with an optional K, M, G or T suffix, like "64M"))"},
        RuleCase{
            "MemlockInfinityTypo", child_with_exec(R"("limit_memlock": "infinty")"),
            "/children/c/limit_memlock",
            R"(must be "infinity" or a size: "infinty" is not a size (expected digits with an optional K, M, G or T suffix, like "64M"); did you mean "infinity"?)"},
        RuleCase{
            "MemlockNegative", child_with_exec(R"("limit_memlock": -1)"),
            "/children/c/limit_memlock",
            R"(must be "infinity", a non-negative integer of bytes, or a size like "64M", got -1)"},
        RuleCase{
            "MemlockFraction", child_with_exec(R"("limit_memlock": 1.5)"),
            "/children/c/limit_memlock",
            R"(must be "infinity", a non-negative integer of bytes, or a size like "64M", got 1.5)"},
        RuleCase{"OomTooLow", child_with_exec(R"("oom_score_adj": -1001)"),
                 "/children/c/oom_score_adj", "must be between -1000 and 1000, got -1001"},
        RuleCase{"OomFraction", child_with_exec(R"("oom_score_adj": 2.5)"),
                 "/children/c/oom_score_adj", "must be an integer, got number"},
        RuleCase{"OnLockLostUnknown", child_with_exec(R"("on_lock_lost": "kill")"),
                 "/children/c/on_lock_lost", R"(must be one of "warn", "restart", got "kill")"}),
    [](const auto& info) { return info.param.label; });

INSTANTIATE_TEST_SUITE_P(
    Supervision, ValidationRule,
    testing::Values(
        RuleCase{"UnknownKeyNearRestartSec", child_with_exec(R"("restart_secs": 1)"),
                 "/children/c/restart_secs",
                 R"(unknown key "restart_secs"; did you mean "restart_sec"?)"},
        RuleCase{
            "ReadyTypo", child_with_exec(R"("ready": "lock")"), "/children/c/ready",
            R"(must be one of "exec", "notify", "locked", got "lock"; did you mean "locked"?)"},
        RuleCase{
            "RestartUnderscore", child_with_exec(R"("restart": "on_failure")"),
            "/children/c/restart",
            R"(must be one of "always", "on-failure", "no", got "on_failure"; did you mean "on-failure"?)"},
        RuleCase{"StartTimeoutZero", child_with_exec(R"("start_timeout_sec": 0)"),
                 "/children/c/start_timeout_sec", "must be greater than 0 and at most 3600, got 0"},
        RuleCase{"StartTimeoutTooLong", child_with_exec(R"("start_timeout_sec": 3601)"),
                 "/children/c/start_timeout_sec",
                 "must be greater than 0 and at most 3600, got 3601"},
        RuleCase{"RestartSecNegative", child_with_exec(R"("restart_sec": -1)"),
                 "/children/c/restart_sec", "must be between 0 and 31536000, got -1"},
        RuleCase{"RestartMaxBelowRestart",
                 child_with_exec(R"("restart_sec": 5, "restart_max_sec": 1)"),
                 "/children/c/restart_max_sec", "must be at least restart_sec (5), got 1"},
        RuleCase{"RestartSecAboveDefaultMax", child_with_exec(R"("restart_sec": 60)"),
                 "/children/c/restart_sec",
                 "must be at most restart_max_sec (30, the default), got 60"},
        RuleCase{"BurstZero", child_with_exec(R"("start_limit_burst": 0)"),
                 "/children/c/start_limit_burst", "must be between 1 and 4294967295, got 0"},
        RuleCase{"StartLimitIntervalZero", child_with_exec(R"("start_limit_interval_sec": 0)"),
                 "/children/c/start_limit_interval_sec",
                 "must be greater than 0 and at most 31536000, got 0"},
        RuleCase{"StopSignalTypo", child_with_exec(R"("stop_signal": "SIGTREM")"),
                 "/children/c/stop_signal", R"(unknown signal "SIGTREM"; did you mean "SIGTERM"?)"},
        RuleCase{"StopSignalNumberTooBig", child_with_exec(R"("stop_signal": 65)"),
                 "/children/c/stop_signal", "must be between 1 and 64, got 65"},
        RuleCase{"StopSignalNotNameOrNumber", child_with_exec(R"("stop_signal": ["TERM"])"),
                 "/children/c/stop_signal",
                 R"(must be a signal name like "SIGTERM" or a number, got array)"},
        RuleCase{"StopTimeoutZero", child_with_exec(R"("stop_timeout_sec": 0)"),
                 "/children/c/stop_timeout_sec",
                 "must be greater than 0 and at most 31536000, got 0"},
        RuleCase{"AfterNotArray", child_with_exec(R"("after": "net")"), "/children/c/after",
                 "must be an array of child names, got string"},
        RuleCase{"AfterItself", child_with_exec(R"("after": ["c"])"), "/children/c/after/0",
                 "a child cannot start after itself"}),
    [](const auto& info) { return info.param.label; });

}  // namespace
}  // namespace duende::supervisor
