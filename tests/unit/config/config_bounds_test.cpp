// The bounds on configuration input: size, nesting and duplicate keys are refused before a
// document is built (no input can run the stack out or grow the locked heap), and every
// problem text escapes the control bytes it quotes.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace duende::supervisor {
namespace {

using Docs = std::vector<std::pair<std::string, std::string>>;

std::vector<ConfigProblem> problems(const Docs& docs) {
  const ConfigResult r = config_from_documents(docs);
  EXPECT_FALSE(r.has_value());
  return r ? std::vector<ConfigProblem>{} : r.error();
}

std::string nested_arrays(std::size_t depth) {
  return "{\"x\": " + std::string(depth, '[') + std::string(depth, ']') + "}";
}

std::string nested_objects(std::size_t depth) {
  std::string text;
  for (std::size_t i = 0; i < depth; ++i) text += "{\"a\": ";
  text += "1";
  for (std::size_t i = 0; i < depth; ++i) text += "}";
  return text;
}

TEST(ConfigBounds, NinetyThousandNestedArraysAreOneProblemNotACrash) {
  const auto p = problems({{"main.json", "{}"}, {"10-deep.json", nested_arrays(90000)}});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].file, "10-deep.json");
  EXPECT_EQ(p[0].message, "nested deeper than 32 levels (the limit for a configuration file)");
  // Where the 33rd level starts: /x, then 31 array levels (index 0 each).
  std::string where = "/x";
  for (int i = 0; i < 31; ++i) where += "/0";
  EXPECT_EQ(p[0].where, where);
}

TEST(ConfigBounds, TenThousandNestedObjectsAreOneProblem) {
  const auto p = problems({{"main.json", nested_objects(10000)}});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].message.find("nested deeper than 32"), std::string::npos) << p[0].message;
}

TEST(ConfigBounds, ThirtyTwoLevelsAreFineThirtyThreeAreNot) {
  // The nesting check passes at 32 (what fails then is validation: "a" is no known key).
  for (const auto& problem : problems({{"main.json", nested_objects(32)}}))
    EXPECT_EQ(problem.message.find("nested deeper"), std::string::npos) << problem.to_string();
  const auto p = problems({{"main.json", nested_objects(33)}});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].message.find("nested deeper than 32"), std::string::npos);
}

TEST(ConfigBounds, AFileOverOneMebibyteIsRefusedUnread) {
  std::string big =
      "{\"children\": {}, \"pad\": \"" + std::string(kMaxConfigFileBytes, 'x') + "\"}";
  const auto p = problems({{"main.json", big}});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].to_string(), "main.json: too large: " + std::to_string(big.size()) +
                                  " bytes; a configuration file may have at most 1048576 (1 MiB)");
}

TEST(ConfigBounds, DuplicateKeysAreRefusedWithTheirPointer) {
  const auto top = problems({{"main.json", R"({"children": {"a": {"exec": ["/bin/a"]}},
                                                "children": {"b": {"exec": ["/bin/b"]}}})"}});
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].to_string(),
            "main.json: /children: duplicate key \"children\": the first value would be lost");
  const auto deep =
      problems({{"main.json", R"({"children": {"a": {"exec": ["/bin/a"], "exec": ["/bin/b"]}}})"}});
  ASSERT_EQ(deep.size(), 1u);
  EXPECT_EQ(deep[0].where, "/children/a/exec");
  // In a drop-in, inside an array of objects, with a key that needs escaping.
  const auto escaped = problems(
      {{"main.json", "{}"}, {"10-x.json", R"({"children": {"a": {"environment": {"a/b": "1",
          "a/b": "2"}}}})"}});
  ASSERT_EQ(escaped.size(), 1u);
  EXPECT_EQ(escaped[0].file, "10-x.json");
  EXPECT_EQ(escaped[0].where, "/children/a/environment/a~1b");
}

TEST(ConfigBounds, ControlBytesInQuotedInputAreEscaped) {
  // A key with a control byte, and a child name with a NUL: both quoted in messages.
  const auto p = problems({{"main.json",
                            "{\"monitor\\u0001\": 1, \"children\": {\"a\\u0000b\": "
                            "{\"exec\": [\"/bin/a\"]}}}"}});
  ASSERT_GE(p.size(), 2u);
  std::string all;
  for (const auto& problem : p) all += problem.to_string() + "\n";
  EXPECT_NE(all.find("monitor\\x01"), std::string::npos) << all;
  EXPECT_NE(all.find("a\\x00b"), std::string::npos) << all;  // the NUL cuts nothing
  for (char c : all) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE(u == '\n' || (u >= 0x20 && u != 0x7f)) << "raw byte " << int(u) << " in " << all;
  }
}

}  // namespace
}  // namespace duende::supervisor
