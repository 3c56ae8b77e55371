// A child's "swap": what it backs, and the mistakes that must never start a swap backend.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config.hpp"

namespace duende::supervisor {
namespace {

ConfigResult load(const std::string& children) {
  return config_from_documents({{"main.json", R"({"children": {)" + children + "}}"}});
}

std::vector<std::string> problems(const std::string& children) {
  ConfigResult result = load(children);
  EXPECT_FALSE(result.has_value()) << "the configuration was accepted";
  std::vector<std::string> texts;
  if (!result)
    for (const auto& p : result.error()) texts.push_back(p.to_string());
  return texts;
}

TEST(SwapConfig, ReadsDevicePriorityAndMkswap) {
  const ConfigResult c = load(
      R"("ramswap": {"exec": ["/usr/bin/ramswap"],
                     "swap": {"device": "/dev/loop7", "priority": 100, "mkswap": true}})");
  ASSERT_TRUE(c) << c.error().front().to_string();
  const ChildSpec& child = c->children.at("ramswap");
  ASSERT_TRUE(child.swap);
  EXPECT_EQ(child.swap->device, "/dev/loop7");
  EXPECT_EQ(child.swap->priority, 100);
  EXPECT_TRUE(child.swap->mkswap);
}

TEST(SwapConfig, DefaultsToTheReportedDeviceAndTheKernelsPriority) {
  const ConfigResult c = load(R"("ramswap": {"exec": ["/usr/bin/ramswap"], "swap": {}})");
  ASSERT_TRUE(c);
  const ChildSpec& child = c->children.at("ramswap");
  ASSERT_TRUE(child.swap);
  EXPECT_EQ(child.swap->device, "");
  EXPECT_EQ(child.swap->priority, -1);
  EXPECT_FALSE(child.swap->mkswap);
  const ConfigResult none = load(R"("plain": {"exec": ["/bin/plain"]})");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->children.at("plain").swap);
}

TEST(SwapConfig, ABackendThatNeedNotBeLockedIsRefused) {
  EXPECT_EQ(
      problems(R"("s": {"exec": ["/bin/s"], "mlock": {"required": false}, "swap": {}})"),
      std::vector<std::string>{
          "main.json: /children/s/swap: a child that backs swap must be locked: its mlock needs "
          "\"current\" or \"future\", and \"required\""});
}

TEST(SwapConfig, BadValuesAreNamedByPointer) {
  EXPECT_EQ(
      problems(R"("s": {"exec": ["/bin/s"],
                        "swap": {"device": "loop7", "priority": 40000, "mkswap": "yes", "prio": 1}})"),
      (std::vector<std::string>{
          R"(main.json: /children/s/swap/prio: unknown key "prio")",
          R"(main.json: /children/s/swap/device: must be the absolute path of the swap device (at most 4096 bytes), got "loop7")",
          "main.json: /children/s/swap/priority: must be between -1 and 32767, got 40000",
          "main.json: /children/s/swap/mkswap: must be a boolean, got string"}));
  EXPECT_EQ(
      problems(R"("s": {"exec": ["/bin/s"], "swap": "/dev/loop7"})"),
      std::vector<std::string>{
          R"(main.json: /children/s/swap: must be an object such as {"device": "/dev/loop7"}, got string)"});
}

TEST(SwapConfig, TwoChildrenCannotBackOneDevice) {
  EXPECT_EQ(
      problems(R"("a": {"exec": ["/bin/a"], "swap": {"device": "/dev/loop7"}},
                        "b": {"exec": ["/bin/b"], "swap": {"device": "/dev/loop7"}})"),
      std::vector<std::string>{
          R"(main.json: /children/b/swap/device: "/dev/loop7" is already the swap of child "a")"});
}

TEST(SwapConfig, ChangesTheDefinitionOnlyWhenUsed) {
  ConfigResult a = load(R"("s": {"exec": ["/bin/s"]})");
  ConfigResult b = load(R"("s": {"exec": ["/bin/s"], "swap": {"device": "/dev/loop7"}})");
  ASSERT_TRUE(a && b);
  EXPECT_NE(definition_hash(a->children.at("s")), definition_hash(b->children.at("s")));
  ChildSpec c = b->children.at("s");
  c.swap->priority = 5;
  EXPECT_NE(definition_hash(c), definition_hash(b->children.at("s")));
}

}  // namespace
}  // namespace duende::supervisor
