// The command line and configuration errors as a user meets them: exit codes, messages
// naming the file and the JSON pointer, --check-config, --help, --version.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "supervisor_harness.hpp"

namespace duende::itest {
namespace {

TEST(SupervisorConfig, InvalidConfigurationAtStartExits78NamingThePointer) {
  Harness h;
  Json c = test_child({});
  c["exec"] = {"sleep", "10"};  // not an absolute path
  h.config["children"]["web"] = c;
  h.start();
  EXPECT_EQ(h.wait_exit(), 78);
  EXPECT_GE(h.line_index(h.config_file() +
                         ": /children/web/exec/0: exec[0] must be an absolute path, got \"sleep\""),
            0)
      << h.log_text();
  EXPECT_GE(h.line_index("invalid configuration: 1 problem(s)"), 0);
  EXPECT_TRUE(h.child_pids("web").empty());
  EXPECT_EQ(h.find_notification("READY=1"), -1);
}

TEST(SupervisorConfig, SyntaxErrorAtStartExits78NamingLineAndColumn) {
  Harness h;
  h.write_file(h.config_file(), "{\n  \"children\": {\n    \"x\": [,]\n  }\n}\n");
  Harness::Launch keep_file;
  keep_file.write_config = false;
  h.start(keep_file);
  EXPECT_EQ(h.wait_exit(), 78);
  EXPECT_GE(h.line_index(h.config_file() + ": 3:"), 0) << h.log_text();
}

TEST(SupervisorConfig, InvalidDropinAtStartNamesTheDropin) {
  Harness h;
  h.config["children"]["web"] = test_child({});
  const std::string dropin = h.dropin_dir() + "/20-typo.json";
  h.write_file(dropin, R"({"children": {"web": {"stop_timout_sec": 3}}})");
  h.start();
  EXPECT_EQ(h.wait_exit(), 78);
  EXPECT_GE(
      h.line_index(dropin + ": /children/web/stop_timout_sec: unknown key \"stop_timout_sec\"; did "
                            "you mean \"stop_timeout_sec\"?"),
      0)
      << h.log_text();
}

TEST(SupervisorCheckConfig, PrintsEveryProblemAndExits78) {
  Harness h;
  h.config["monitor_interval_sec"] = 0;
  Json web = test_child({});
  web["exec"] = {"ls"};
  web["after"] = {"db"};
  h.config["children"]["web"] = web;
  h.write_config();
  const std::string dropin = h.dropin_dir() + "/50-more.json";
  h.write_file(dropin, R"({"children": {"web": {"restart_secs": 1, "preload": "yes"}}})");

  const RunResult r =
      h.run_cli({"--check-config", "--config", h.config_file(), "--config-dir", h.dropin_dir()});
  EXPECT_EQ(r.exit_code, 78);
  const std::string main = h.config_file() + ": ";
  for (const std::string& expected :
       {main + "/monitor_interval_sec: must be between 0.05 and 3600, got 0",
        main + "/children/web/exec/0: exec[0] must be an absolute path, got \"ls\"",
        main + "/children/web/after/0: unknown child \"db\"",
        dropin + ": /children/web/restart_secs: unknown key \"restart_secs\"; did you mean "
                 "\"restart_sec\"?",
        dropin + ": /children/web/preload: must be a boolean, got string",
        std::string("5 problem(s) found")})
    EXPECT_NE(r.err.find(expected + "\n"), std::string::npos) << expected << "\n---\n" << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(SupervisorCheckConfig, AcceptsAGoodConfigurationWithASummary) {
  Harness h;
  h.config["children"]["b"] = test_child({});
  h.config["children"]["b"]["after"] = {"a"};
  h.config["children"]["a"] = test_child({});
  h.write_config();
  const RunResult r =
      h.run_cli({"--check-config", "--config", h.config_file(), "--config-dir", h.dropin_dir()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "configuration OK: 2 child(ren); start order: a, b\n");
  // Nothing was started: no log, no notify socket.
  EXPECT_FALSE(std::ifstream(h.children_socket()).good());
}

TEST(SupervisorCheckConfig, MissingExplicitConfigFileIsAProblem) {
  Harness h;
  const RunResult r = h.run_cli(
      {"--check-config", "--config", h.path("absent.json"), "--config-dir", h.dropin_dir()});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_NE(r.err.find(h.path("absent.json") + ": cannot read: No such file or directory"),
            std::string::npos)
      << r.err;
}

TEST(SupervisorCli, HelpExitsZeroAndMentionsEveryOption) {
  Harness h;
  const RunResult r = h.run_cli({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* option :
       {"--config FILE", "--config-dir DIR", "--check-config", "--preload PATH", "--version",
        "--help", "SIGHUP", "SIGTERM", "RUNTIME_DIRECTORY"})
    EXPECT_NE(r.out.find(option), std::string::npos) << option;
  EXPECT_EQ(h.run_cli({"-h"}).out, r.out);
}

TEST(SupervisorCli, VersionPrintsTheVersion) {
  Harness h;
  const RunResult r = h.run_cli({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, std::string("mlock-supervisor ") + kVersion + "\n");
}

TEST(SupervisorCli, UnknownOptionExits64AsMlockctlDoes) {
  Harness h;
  const RunResult r = h.run_cli({"--bogus"});
  EXPECT_EQ(r.exit_code, 64);  // EX_USAGE
  EXPECT_NE(r.err.find("unknown argument \"--bogus\""), std::string::npos) << r.err;
}

TEST(SupervisorCli, OptionWithoutValueExits64) {
  Harness h;
  const RunResult r = h.run_cli({"--config"});
  EXPECT_EQ(r.exit_code, 64);  // EX_USAGE
  EXPECT_NE(r.err.find("--config needs a value"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace duende::itest
