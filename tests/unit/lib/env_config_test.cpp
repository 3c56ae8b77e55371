#include "env_config.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "param_name.hpp"

namespace duende::mlock::internal {
namespace {

Result<MlockConfig, std::string> from(const std::map<std::string, std::string>& env) {
  return config_from_environment([&env](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST(ConfigFromEnvironment, UnsetMeansDefaults) {
  const auto c = from({});
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(*c, MlockConfig());
}

TEST(ConfigFromEnvironment, EmptyMeansDefault) {
  const auto c = from({{"DUENDE_MLOCK_FUTURE", ""}});
  ASSERT_TRUE(c) << c.error();
  EXPECT_TRUE(c->future());
}

TEST(ConfigFromEnvironment, ReadsEveryVariable) {
  const auto c = from({{"DUENDE_MLOCK_CURRENT", "0"},
                       {"DUENDE_MLOCK_FUTURE", "0"},
                       {"DUENDE_MLOCK_ONFAULT", "1"},
                       {"DUENDE_MLOCK_REQUIRED", "0"},
                       {"DUENDE_MLOCK_IO_FLUSHER", "1"},
                       {"DUENDE_MLOCK_RETAIN_HEAP", "1"}});
  ASSERT_TRUE(c) << c.error();
  EXPECT_FALSE(c->current());
  EXPECT_FALSE(c->future());
  EXPECT_TRUE(c->onfault());
  EXPECT_FALSE(c->required());
  EXPECT_TRUE(c->io_flusher());
  EXPECT_TRUE(c->retain_heap());
}

class ConfigFromEnvironmentRejects : public testing::TestWithParam<const char*> {};

TEST_P(ConfigFromEnvironmentRejects, AnythingButOneOrZero) {
  const auto c = from({{"DUENDE_MLOCK_REQUIRED", GetParam()}});
  ASSERT_FALSE(c) << "accepted " << GetParam();
  EXPECT_EQ(c.error(),
            std::string("DUENDE_MLOCK_REQUIRED=\"") + GetParam() + "\" is invalid: use 1 or 0");
}

INSTANTIATE_TEST_SUITE_P(Table, ConfigFromEnvironmentRejects,
                         testing::Values("yes", "2", "true", " 1", "10", "-1", "on"),
                         test::StringParamName());

}  // namespace
}  // namespace duende::mlock::internal
