// The DUENDE_MLOCK_* environment: lock_environment() and config_from_environment().
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "duende/mlock.hpp"
#include "forked_child.hpp"
#include "param_name.hpp"

namespace duende::mlock {
namespace {

using Environment = std::vector<std::pair<std::string, std::string>>;

Result<MlockConfig, std::string> from(const std::map<std::string, std::string>& env) {
  return config_from_environment([&env](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

// Config number `bits` of the 128: bit 0 current, 1 future, 2 onfault, 3 required,
// 4 io_flusher, 5 retain_heap, 6 relock_after_fork.
MlockConfig config_of(unsigned bits) {
  return MlockConfig::builder()
      .current(bits & 1)
      .future(bits & 2)
      .onfault(bits & 4)
      .required(bits & 8)
      .io_flusher(bits & 16)
      .retain_heap(bits & 32)
      .relock_after_fork(bits & 64)
      .build();
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
                       {"DUENDE_MLOCK_RETAIN_HEAP", "1"},
                       {"DUENDE_MLOCK_RELOCK_AFTER_FORK", "0"}});
  ASSERT_TRUE(c) << c.error();
  EXPECT_FALSE(c->current());
  EXPECT_FALSE(c->future());
  EXPECT_TRUE(c->onfault());
  EXPECT_FALSE(c->required());
  EXPECT_TRUE(c->io_flusher());
  EXPECT_TRUE(c->retain_heap());
  EXPECT_FALSE(c->relock_after_fork());
}

TEST(ConfigFromEnvironment, RelockAfterForkIsOnUnlessTurnedOff) {
  EXPECT_TRUE(MlockConfig().relock_after_fork());
  for (const char* value : {"", "1"}) {
    const auto c = from({{"DUENDE_MLOCK_RELOCK_AFTER_FORK", value}});
    ASSERT_TRUE(c) << c.error();
    EXPECT_TRUE(c->relock_after_fork()) << '"' << value << '"';
  }
  const auto off = from({{"DUENDE_MLOCK_RELOCK_AFTER_FORK", "0"}});
  ASSERT_TRUE(off) << off.error();
  EXPECT_FALSE(off->relock_after_fork());
  EXPECT_EQ(*off, MlockConfig::builder().relock_after_fork(false).build());
  const auto bad = from({{"DUENDE_MLOCK_RELOCK_AFTER_FORK", "off"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), "DUENDE_MLOCK_RELOCK_AFTER_FORK=\"off\" is invalid: use 1 or 0");
}

TEST(ConfigFromEnvironment, WithoutLookupReadsTheProcessEnvironment) {
  test::ForkedChild child([] {
    for (const auto& entry : lock_environment(MlockConfig())) unsetenv(entry.first.c_str());
    setenv("DUENDE_MLOCK_REQUIRED", "0", 1);
    setenv("DUENDE_MLOCK_ONFAULT", "1", 1);
    const auto c = config_from_environment();
    if (!c) return c.error();
    return std::string(c->required() ? "required" : "optional") +
           (c->onfault() ? " onfault" : " populate");
  });
  EXPECT_EQ(child.message(), "optional onfault");
}

TEST(ConfigFromEnvironment, WithoutLookupReportsInvalidValues) {
  test::ForkedChild child([] {
    setenv("DUENDE_MLOCK_CURRENT", "yes", 1);
    const auto c = config_from_environment();
    return c ? std::string("accepted") : c.error();
  });
  EXPECT_EQ(child.message(), "DUENDE_MLOCK_CURRENT=\"yes\" is invalid: use 1 or 0");
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

TEST(LockEnvironment, ListsReportThenEveryFlagInOrder) {
  const MlockConfig c =
      MlockConfig::builder().current(true).future(false).onfault(true).required(false).build();
  EXPECT_EQ(lock_environment(c), (Environment{{"DUENDE_MLOCK_REPORT", "1"},
                                              {"DUENDE_MLOCK_CURRENT", "1"},
                                              {"DUENDE_MLOCK_FUTURE", "0"},
                                              {"DUENDE_MLOCK_ONFAULT", "1"},
                                              {"DUENDE_MLOCK_REQUIRED", "0"},
                                              {"DUENDE_MLOCK_IO_FLUSHER", "0"},
                                              {"DUENDE_MLOCK_RETAIN_HEAP", "0"},
                                              {"DUENDE_MLOCK_RELOCK_AFTER_FORK", "1"}}));
}

TEST(LockEnvironment, WithoutReportOmitsOnlyTheReportVariable) {
  const MlockConfig c =
      MlockConfig::builder().io_flusher(true).retain_heap(true).relock_after_fork(false).build();
  EXPECT_EQ(lock_environment(c, false), (Environment{{"DUENDE_MLOCK_CURRENT", "1"},
                                                     {"DUENDE_MLOCK_FUTURE", "1"},
                                                     {"DUENDE_MLOCK_ONFAULT", "0"},
                                                     {"DUENDE_MLOCK_REQUIRED", "1"},
                                                     {"DUENDE_MLOCK_IO_FLUSHER", "1"},
                                                     {"DUENDE_MLOCK_RETAIN_HEAP", "1"},
                                                     {"DUENDE_MLOCK_RELOCK_AFTER_FORK", "0"}}));
}

TEST(LockEnvironment, NamesAreThePublicConstants) {
  const Environment env = lock_environment(MlockConfig());
  ASSERT_EQ(env.size(), 8u);
  EXPECT_EQ(env[0].first, kEnvReport);
  EXPECT_EQ(env[1].first, kEnvCurrent);
  EXPECT_EQ(env[2].first, kEnvFuture);
  EXPECT_EQ(env[3].first, kEnvOnfault);
  EXPECT_EQ(env[4].first, kEnvRequired);
  EXPECT_EQ(env[5].first, kEnvIoFlusher);
  EXPECT_EQ(env[6].first, kEnvRetainHeap);
  EXPECT_EQ(env[7].first, kEnvRelockAfterFork);
}

class LockEnvironmentRoundTrip : public testing::TestWithParam<unsigned> {};

TEST_P(LockEnvironmentRoundTrip, ConfigFromEnvironmentGivesTheConfigBack) {
  const MlockConfig config = config_of(GetParam());
  // config_of() must use every bit, or the 128 cases would not be 128 distinct configs.
  ASSERT_EQ(config.current() + 2 * config.future() + 4 * config.onfault() + 8 * config.required() +
                16 * config.io_flusher() + 32 * config.retain_heap() +
                64 * config.relock_after_fork(),
            static_cast<int>(GetParam()));
  for (const bool report : {true, false}) {
    std::map<std::string, std::string> env;
    for (const auto& [name, value] : lock_environment(config, report)) env[name] = value;
    const auto back = from(env);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(*back, config) << "flags " << GetParam() << ", report " << report;
  }
}

INSTANTIATE_TEST_SUITE_P(AllFlagCombinations, LockEnvironmentRoundTrip, testing::Range(0u, 128u));

}  // namespace
}  // namespace duende::mlock
