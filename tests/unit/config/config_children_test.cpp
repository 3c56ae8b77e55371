// Relations between children and files: start order, cycles, credentials, many problems at
// once, and which file a problem is blamed on.
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

Config parse_ok(const std::string& text) {
  ConfigResult result = config_from_documents({{"main.json", text}});
  if (!result) {
    for (const auto& problem : result.error()) ADD_FAILURE() << problem.to_string();
    return {};
  }
  return *result;
}

std::vector<std::string> problem_texts(const Docs& docs) {
  ConfigResult result = config_from_documents(docs);
  EXPECT_FALSE(result.has_value()) << "the configuration was accepted";
  std::vector<std::string> texts;
  if (!result) {
    for (const auto& problem : result.error()) texts.push_back(problem.to_string());
  }
  return texts;
}

TEST(StartOrder, FollowsAfterAndBreaksTiesByName) {
  const Config config = parse_ok(R"({"children": {
      "z": {"exec": ["/bin/z"]},
      "y": {"exec": ["/bin/y"], "after": ["z"]},
      "a": {"exec": ["/bin/a"]},
      "m": {"exec": ["/bin/m"], "after": ["a", "y", "a"]}}})");
  EXPECT_EQ(config.start_order, (std::vector<std::string>{"a", "z", "y", "m"}));
}

TEST(StartOrder, ReportsATwoChildCycleOnce) {
  EXPECT_EQ(
      problem_texts({{"main.json", R"({"children": {
      "b": {"exec": ["/bin/b"], "after": ["a"]},
      "a": {"exec": ["/bin/a"], "after": ["b"]}}})"}}),
      std::vector<std::string>{
          R"(main.json: /children/a/after: cycle in "after" (each waits for the next): a -> b -> a)"});
}

TEST(StartOrder, NamesEveryChildOfALongerCycleButNotThoseBehindIt) {
  // d waits for the cycle but is not part of it.
  EXPECT_EQ(
      problem_texts({{"main.json", R"({"children": {
      "a": {"exec": ["/bin/a"], "after": ["c"]},
      "b": {"exec": ["/bin/b"], "after": ["a"]},
      "c": {"exec": ["/bin/c"], "after": ["b"]},
      "d": {"exec": ["/bin/d"], "after": ["c"]},
      "e": {"exec": ["/bin/e"]}}})"}}),
      std::vector<std::string>{
          R"(main.json: /children/a/after: cycle in "after" (each waits for the next): a -> c -> b -> a)"});
}

TEST(StartOrder, UnknownChildInAfterGetsASuggestion) {
  EXPECT_EQ(
      problem_texts({{"main.json", R"({"children": {
      "net-prep": {"exec": ["/bin/n"]},
      "swap": {"exec": ["/bin/s"], "after": ["net-prep", "netprep", "database"]}}})"}}),
      (std::vector<std::string>{
          R"(main.json: /children/swap/after/1: unknown child "netprep"; did you mean "net-prep"?)",
          R"(main.json: /children/swap/after/2: unknown child "database")"}));
}

TEST(Identity, RootByNameGetsItsGroups) {
  const Config config = parse_ok(R"({"children": {"c": {"exec": ["/bin/c"], "user": "root"}}})");
  const ChildSpec& child = config.children.at("c");
  EXPECT_EQ(child.uid, 0u);
  EXPECT_EQ(child.gid, 0u);
  EXPECT_EQ(child.user_name, "root");
  ASSERT_FALSE(child.supplementary_groups.empty());
  EXPECT_EQ(child.supplementary_groups.front(), 0u);
}

struct IdentityCase {
  std::string label;
  std::string members;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::vector<gid_t> supplementary;
  std::string user_name;
};

void PrintTo(const IdentityCase& c, std::ostream* out) { *out << c.label; }

class IdentityResolves : public testing::TestWithParam<IdentityCase> {};

TEST_P(IdentityResolves, ToIdsAndGroups) {
  const IdentityCase& c = GetParam();
  const Config config = parse_ok(R"({"children": {"c": {"exec": ["/bin/c"], )" + c.members + "}}}");
  ASSERT_EQ(config.children.count("c"), 1u);
  const ChildSpec& child = config.children.at("c");
  EXPECT_EQ(child.uid, c.uid);
  EXPECT_EQ(child.gid, c.gid);
  EXPECT_EQ(child.supplementary_groups, c.supplementary);
  EXPECT_EQ(child.user_name, c.user_name);
}

INSTANTIATE_TEST_SUITE_P(
    Identity, IdentityResolves,
    testing::Values(
        IdentityCase{"UserNameOnly", R"("user": "nobody")", 65534, 65534, {65534}, "nobody"},
        IdentityCase{"NumericStringUser", R"("user": "65534")", 65534, 65534, {65534}, "nobody"},
        // As initgroups() would: the group plus those listing root as a member (none here),
        // not root's passwd group 0.
        IdentityCase{
            "IntegerUserAndGroup", R"("user": 0, "group": 65534)", 0, 65534, {65534}, "root"},
        IdentityCase{"GroupOnly", R"("group": "nogroup")", std::nullopt, 65534, {65534}, ""},
        IdentityCase{"UnlistedIdsWithGroup",
                     R"("user": 4000000, "group": "4000001")",
                     4000000,
                     4000001,
                     {4000001},
                     ""}),
    [](const auto& info) { return info.param.label; });

TEST(ChildValues, AcceptsSignalNumbersSizesAndInfinity) {
  const Config config = parse_ok(R"({"children": {
      "a": {"exec": ["/bin/a"], "stop_signal": 9, "limit_memlock": 1048576},
      "b": {"exec": ["/bin/b"], "stop_signal": "RTMIN+2", "limit_memlock": "1G"},
      "c": {"exec": ["/bin/c"], "stop_signal": "hup", "limit_memlock": "infinity"}}})");
  EXPECT_EQ(config.children.at("a").stop_signal, SIGKILL);
  EXPECT_EQ(config.children.at("a").limit_memlock, 1048576u);
  EXPECT_EQ(config.children.at("b").stop_signal, SIGRTMIN + 2);
  EXPECT_EQ(config.children.at("b").limit_memlock, 1ull << 30);
  EXPECT_EQ(config.children.at("c").stop_signal, SIGHUP);
  EXPECT_EQ(config.children.at("c").limit_memlock, std::nullopt);
}

TEST(ConfigProblems, AllAreReportedInDocumentOrder) {
  std::ifstream in(DUENDE_TEST_DATA_DIR "/config/many_problems.json");
  std::ostringstream text;
  text << in.rdbuf();
  const std::string file = "many_problems.json";
  EXPECT_EQ(
      problem_texts({{file, text.str()}}),
      (std::vector<std::string>{
          file + ": /monitor_interval_sec: must be between 0.05 and 3600, got 0",
          file +
              R"(: /children/web/restart_secs: unknown key "restart_secs"; did you mean "restart_sec"?)",
          file + R"(: /children/web/exec/0: exec[0] must be an absolute path, got "ls")",
          file + R"(: /children/web/user: unknown user "no-such-user-mlock-test")",
          file + ": /children/web/preload: must be a boolean, got string",
          file + R"(: /children/web/after/0: unknown child "db")"}));
}

TEST(ConfigProblems, AreBlamedOnTheFileThatSetTheValue) {
  const Docs docs = {
      {"main.json", R"({"children": {"a": {"exec": ["/bin/a"], "restart_sec": 1, "bogus": 1}}})"},
      {"10-tune.json", R"({"children": {"a": {"restart_sec": -1}}})"},
      {"20-new.json", R"({"children": {"b": {"restart": "never"}}})"}};
  EXPECT_EQ(
      problem_texts(docs),
      (std::vector<std::string>{
          R"(main.json: /children/a/bogus: unknown key "bogus")",
          "10-tune.json: /children/a/restart_sec: must be between 0 and 31536000, got -1",
          "20-new.json: /children/b/exec: is required: the program's absolute path and its "
          R"(arguments, like ["/usr/bin/server", "--flag"])",
          R"(20-new.json: /children/b/restart: must be one of "always", "on-failure", "no", got "never")"}));
}

TEST(ConfigProblems, RemovalIsBlamedOnTheRemovingFile) {
  const Docs docs = {{"main.json", R"({"children": {"a": {"exec": ["/bin/a"]}}})"},
                     {"50-drop-exec.json", R"({"children": {"a": {"exec": null}}})"}};
  const auto texts = problem_texts(docs);
  ASSERT_EQ(texts.size(), 1u);
  EXPECT_EQ(texts[0].substr(0, texts[0].find(" is required")),
            "50-drop-exec.json: /children/a/exec:");
}

TEST(ConfigProblems, ReplacedObjectForgetsOlderProvenance) {
  // 20-swap.json replaces child "a" wholesale with a string; the problem is its own.
  const Docs docs = {{"main.json", R"({"children": {"a": {"exec": ["/bin/a"]}}})"},
                     {"20-swap.json", R"({"children": {"a": "oops"}})"},
                     {"30-again.json", R"({"children": {"a": {"exec": ["x"]}}})"}};
  EXPECT_EQ(problem_texts(docs),
            std::vector<std::string>{
                R"(30-again.json: /children/a/exec/0: exec[0] must be an absolute path, got "x")"});
}

}  // namespace
}  // namespace duende::supervisor
