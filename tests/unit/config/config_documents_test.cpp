// config_from_documents: defaults, the full format, merge patches, syntax errors, equality.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace duende::supervisor {
namespace {

using Docs = std::vector<std::pair<std::string, std::string>>;

const std::string kDataDir = DUENDE_TEST_DATA_DIR "/config/";

// (name, text) of a fixture file, named as given (relative to tests/data/config).
std::pair<std::string, std::string> fixture(const std::string& name) {
  std::ifstream in(kDataDir + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing fixture " << name;
  std::ostringstream text;
  text << in.rdbuf();
  return {name, text.str()};
}

Config parse_ok(const Docs& docs) {
  ConfigResult result = config_from_documents(docs);
  if (!result) {
    for (const auto& problem : result.error()) ADD_FAILURE() << problem.to_string();
    return {};
  }
  return *result;
}

std::vector<ConfigProblem> parse_failing(const Docs& docs) {
  ConfigResult result = config_from_documents(docs);
  EXPECT_FALSE(result.has_value()) << "the configuration was accepted";
  return result ? std::vector<ConfigProblem>{} : result.error();
}

TEST(ConfigFromDocuments, EmptyDocumentGivesDefaults) {
  const Config config = parse_ok({{"main.json", "{}"}});
  EXPECT_EQ(config.self_mlock, mlock::MlockConfig{});
  EXPECT_TRUE(config.self_mlock.current());
  EXPECT_TRUE(config.self_mlock.future());
  EXPECT_TRUE(config.self_mlock.required());
  EXPECT_FALSE(config.self_mlock.onfault());
  EXPECT_DOUBLE_EQ(config.monitor_interval_sec, 1.0);
  EXPECT_DOUBLE_EQ(config.full_check_interval_sec, 30);
  EXPECT_TRUE(config.children.empty());
  EXPECT_TRUE(config.start_order.empty());
}

TEST(ConfigFromDocuments, NoDocumentsGivesDefaults) { EXPECT_EQ(parse_ok({}), Config{}); }

TEST(ConfigFromDocuments, FillsEveryChildDefault) {
  const Config config = parse_ok({fixture("minimal.json")});
  ASSERT_EQ(config.children.size(), 1u);
  const ChildSpec& child = config.children.at("swapd");
  EXPECT_EQ(child.name, "swapd");
  EXPECT_EQ(child.exec, std::vector<std::string>{"/usr/sbin/swapd"});
  EXPECT_TRUE(child.environment.empty());
  EXPECT_EQ(child.working_directory, "/");
  EXPECT_EQ(child.uid, std::nullopt);
  EXPECT_EQ(child.gid, std::nullopt);
  EXPECT_TRUE(child.supplementary_groups.empty());
  EXPECT_EQ(child.user_name, "");
  EXPECT_TRUE(child.preload);
  EXPECT_EQ(child.mlock, mlock::MlockConfig{});
  EXPECT_FALSE(child.mlock.io_flusher());
  EXPECT_FALSE(child.mlock.retain_heap());
  EXPECT_TRUE(child.mlock.relock_after_fork());
  EXPECT_EQ(child.limit_memlock, std::nullopt);
  EXPECT_EQ(child.oom_score_adj, -1000);
  EXPECT_EQ(child.ready, Readiness::Locked);
  EXPECT_TRUE(child.after.empty());
  EXPECT_DOUBLE_EQ(child.start_timeout_sec, 30);
  EXPECT_EQ(child.restart, RestartPolicy::OnFailure);
  EXPECT_DOUBLE_EQ(child.restart_sec, 0.1);
  EXPECT_DOUBLE_EQ(child.restart_max_sec, 30);
  EXPECT_EQ(child.start_limit_burst, 5u);
  EXPECT_DOUBLE_EQ(child.start_limit_interval_sec, 60);
  EXPECT_EQ(child.stop_signal, SIGTERM);
  EXPECT_DOUBLE_EQ(child.stop_timeout_sec, 10);
  EXPECT_EQ(child.on_lock_lost, OnLockLost::Warn);
  EXPECT_EQ(config.start_order, std::vector<std::string>{"swapd"});
}

TEST(ConfigFromDocuments, ParsesTheFullExample) {
  const Config config = parse_ok({fixture("full.json")});
  EXPECT_DOUBLE_EQ(config.full_check_interval_sec, 45);
  ASSERT_EQ(config.children.size(), 2u);
  const ChildSpec& ublk = config.children.at("ublk-swap0");
  EXPECT_EQ(ublk.exec, (std::vector<std::string>{"/usr/bin/ublk-server", "--dev", "0"}));
  EXPECT_EQ(ublk.environment, (std::map<std::string, std::string>{{"RUST_LOG", "info"}}));
  EXPECT_EQ(ublk.uid, 65534u);  // nobody
  EXPECT_EQ(ublk.gid, 65534u);  // nogroup
  EXPECT_EQ(ublk.user_name, "nobody");
  EXPECT_EQ(ublk.supplementary_groups, std::vector<gid_t>{65534});
  EXPECT_TRUE(ublk.mlock.io_flusher());
  EXPECT_FALSE(ublk.mlock.relock_after_fork());
  EXPECT_EQ(ublk.limit_memlock, 64u << 20);
  EXPECT_EQ(ublk.ready, Readiness::Locked);
  EXPECT_EQ(ublk.after, std::vector<std::string>{"net-prep"});
  EXPECT_EQ(ublk.stop_signal, SIGINT);
  EXPECT_EQ(ublk.on_lock_lost, OnLockLost::Restart);
  const ChildSpec& prep = config.children.at("net-prep");
  EXPECT_EQ(prep.ready, Readiness::Exec);
  EXPECT_EQ(prep.restart, RestartPolicy::No);
  EXPECT_FALSE(prep.preload);
  EXPECT_FALSE(prep.mlock.must_be_locked());
  EXPECT_EQ(config.start_order, (std::vector<std::string>{"net-prep", "ublk-swap0"}));
}

TEST(ConfigFromDocuments, MergePatchAddsChangesAndRemovesChildren) {
  const Config config = parse_ok(
      {fixture("merge/main.json"), fixture("merge/10-add.json"), fixture("merge/20-change.json")});
  ASSERT_EQ(config.children.size(), 3u);
  EXPECT_EQ(config.children.at("gamma").exec,
            (std::vector<std::string>{"/usr/bin/gamma", "--fast"}));
  EXPECT_DOUBLE_EQ(config.children.at("alpha").restart_sec, 2.5);
  EXPECT_EQ(config.children.at("alpha").exec, std::vector<std::string>{"/usr/bin/alpha"});
  EXPECT_EQ(config.children.at("beta").environment,
            (std::map<std::string, std::string>{{"B", "2"}, {"C", "3"}}));
  EXPECT_EQ(config.start_order, (std::vector<std::string>{"alpha", "beta", "gamma"}));

  const Config removed =
      parse_ok({fixture("merge/main.json"), fixture("merge/10-add.json"),
                fixture("merge/20-change.json"), fixture("merge/30-remove.json")});
  EXPECT_EQ(removed.children.count("beta"), 0u);
  EXPECT_EQ(removed.start_order, (std::vector<std::string>{"alpha", "gamma"}));
}

TEST(ConfigFromDocuments, LaterDocumentsWinField) {
  const Config config = parse_ok(
      {{"a.json", R"({"monitor_interval_sec": 2})"}, {"b.json", R"({"monitor_interval_sec": 3})"}});
  EXPECT_DOUBLE_EQ(config.monitor_interval_sec, 3);
}

TEST(ConfigFromDocuments, SyntaxErrorGivesFileLineAndColumn) {
  // The parser stops at the end of the string that should have followed a comma.
  const auto problems = parse_failing({{"main.json", "{}"}, fixture("syntax_error.json")});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].file, "syntax_error.json");
  EXPECT_EQ(problems[0].where, "5:21");
  EXPECT_EQ(problems[0].message,
            "syntax error while parsing object - unexpected string literal; expected '}'");
}

TEST(ConfigFromDocuments, UnexpectedEndOfInputIsPlacedAfterTheLastCharacter) {
  const auto problems = parse_failing({{"cut.json", "{\n  \"children\": {"}});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].where, "2:16");
}

TEST(ConfigFromDocuments, InvalidUtf8IsASyntaxErrorCountingCharacters) {
  // Line 3 holds an "é" (two bytes, one column) before the stray 0xFF byte.
  const auto problems = parse_failing({fixture("not_utf8.json")});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].file, "not_utf8.json");
  EXPECT_EQ(problems[0].where, "3:34");
  EXPECT_NE(problems[0].message.find("ill-formed UTF-8 byte"), std::string::npos)
      << problems[0].message;
}

TEST(ConfigFromDocuments, TopLevelMustBeAnObject) {
  const auto problems = parse_failing({fixture("top_level_array.json")});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].to_string(), "top_level_array.json: must be a JSON object, got array");
}

TEST(ConfigFromDocuments, ReportsEveryBrokenFileAndStillValidatesTheRest) {
  const auto problems = parse_failing(
      {{"main.json", R"({"children": {"a": {}}})"}, {"b.json", "{"}, {"c.json", "[]"}});
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0].file, "b.json");
  EXPECT_EQ(problems[0].where, "1:2");
  EXPECT_EQ(problems[1].to_string(), "c.json: must be a JSON object, got array");
  EXPECT_EQ(problems[2].file, "main.json");
  EXPECT_EQ(problems[2].where, "/children/a/exec");
}

TEST(ConfigEquality, IdenticalConfigsCompareEqual) {
  const Config a = parse_ok({fixture("full.json")});
  const Config b = parse_ok({fixture("full.json")});
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.children.at("ublk-swap0"), b.children.at("ublk-swap0"));
}

TEST(ConfigEquality, OneChangedFieldMakesOnlyThatChildUnequal) {
  const Config a = parse_ok({fixture("full.json")});
  const Config b =
      parse_ok({fixture("full.json"),
                {"tweak.json", R"({"children": {"ublk-swap0": {"stop_timeout_sec": 11}}})"}});
  EXPECT_NE(a, b);
  EXPECT_NE(a.children.at("ublk-swap0"), b.children.at("ublk-swap0"));
  EXPECT_EQ(a.children.at("net-prep"), b.children.at("net-prep"));
  mlock::MlockConfig flags = mlock::MlockConfig::builder().retain_heap(true).build();
  EXPECT_NE(flags, mlock::MlockConfig{});
}

}  // namespace
}  // namespace duende::supervisor
