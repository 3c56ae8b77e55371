// parse_memlock_limit() on /proc/PID/limits text.
#include "proc_limits.hpp"

#include <gtest/gtest.h>

#include "fixture.hpp"
#include "param_name.hpp"

namespace duende::mlock::internal {
namespace {

using test::read_fixture;

TEST(ParseMemlockLimit, ReadsSoftAndHardBytes) {
  const auto r = parse_memlock_limit(read_fixture("proc_limits_default.txt"));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->soft, 8388608u);
  EXPECT_EQ(r->hard, 8388608u);
}

TEST(ParseMemlockLimit, UnlimitedIsNullopt) {
  const auto r = parse_memlock_limit(read_fixture("proc_limits_unlimited.txt"));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->soft, std::nullopt);
  EXPECT_EQ(r->hard, std::nullopt);
}

TEST(ParseMemlockLimit, SoftAndHardMayDiffer) {
  const auto r = parse_memlock_limit(
      "Max stack size            8388608              unlimited            bytes     \n"
      "Max locked memory         65536                unlimited            bytes     \n");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->soft, 65536u);
  EXPECT_EQ(r->hard, std::nullopt);
}

struct BadLimits {
  const char* name;
  std::string text;
  const char* expected_fragment;
};

class ParseMemlockLimitRejects : public testing::TestWithParam<BadLimits> {};

TEST_P(ParseMemlockLimitRejects, WithAClearMessage) {
  const auto r = parse_memlock_limit(GetParam().text);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find(GetParam().expected_fragment), std::string::npos) << r.error();
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseMemlockLimitRejects,
    testing::Values(
        BadLimits{"truncated_fixture", read_fixture("proc_limits_truncated.txt"),
                  "hard limit: missing"},
        BadLimits{"empty", "", "no \"Max locked memory\" line"},
        BadLimits{"other_lines_only", "Max stack size 8388608 unlimited bytes\n", "no \"Max"},
        BadLimits{"longer_key", "Max locked memoryX 1 1 bytes\n", "no \"Max"},
        BadLimits{"no_values", "Max locked memory\n", "soft limit: missing"},
        BadLimits{"not_a_number", "Max locked memory 64k 64k bytes\n", "soft limit: not a number"},
        BadLimits{"negative", "Max locked memory -1 -1 bytes\n", "soft limit: not a number"},
        BadLimits{"overflow", "Max locked memory 18446744073709551616 1 bytes\n",
                  "soft limit: out of range"},
        BadLimits{"unit", "Max locked memory 1 1 kB\n", "expected unit bytes, got \"kB\""},
        BadLimits{"no_unit", "Max locked memory 1 1\n", "expected unit bytes, got \"\""},
        BadLimits{"trailing", "Max locked memory 1 1 bytes more\n", "text after the unit"},
        BadLimits{"twice", "Max locked memory 1 1 bytes\nMax locked memory 2 2 bytes\n",
                  "appears twice"}),
    [](const auto& i) { return test::param_name(i.param.name, i.index); });

}  // namespace
}  // namespace duende::mlock::internal
