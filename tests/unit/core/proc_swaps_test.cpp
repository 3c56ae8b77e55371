// parse_proc_swaps: the kernel's list of active swap areas, from fixture files.
#include "core/proc_swaps.hpp"

#include <gtest/gtest.h>

#include <string>

#include "fixture.hpp"

namespace duende::supervisor {
namespace {

TEST(ParseProcSwaps, ReadsEveryAreaInBytesWithEscapedNames) {
  const auto areas = parse_proc_swaps(duende::test::read_fixture("proc_swaps_two.txt"));
  ASSERT_EQ(areas.size(), 2u);
  EXPECT_EQ(areas[0], (SwapArea{"/dev/loop7", "partition", 131068ull * 1024, 37888ull * 1024, 10}));
  EXPECT_EQ(areas[1], (SwapArea{"/tmp/my swap\tfile", "file", 65532ull * 1024, 0, -2}));
}

TEST(ParseProcSwaps, HeaderOnlyIsNoArea) {
  EXPECT_TRUE(parse_proc_swaps(duende::test::read_fixture("proc_swaps_empty.txt")).empty());
  EXPECT_TRUE(parse_proc_swaps("").empty());
}

TEST(ParseProcSwaps, SkipsMalformedAndTruncatedLines) {
  const auto areas = parse_proc_swaps(duende::test::read_fixture("proc_swaps_truncated.txt"));
  ASSERT_EQ(areas.size(), 1u);
  EXPECT_EQ(areas[0].path, "/dev/zram0");
  EXPECT_EQ(areas[0].priority, 100);
}

TEST(ParseProcSwaps, KeepsABackslashThatIsNotAnOctalEscape) {
  const auto areas = parse_proc_swaps("H\n/a\\9x partition 4 0 -2\n/b\\ file 4 0 -2\n");
  ASSERT_EQ(areas.size(), 2u);
  EXPECT_EQ(areas[0].path, "/a\\9x");
  EXPECT_EQ(areas[1].path, "/b\\");
}

TEST(FindSwapArea, FindsByExactPath) {
  const auto areas = parse_proc_swaps(duende::test::read_fixture("proc_swaps_two.txt"));
  ASSERT_NE(find_swap_area(areas, "/dev/loop7"), nullptr);
  EXPECT_EQ(find_swap_area(areas, "/dev/loop7")->used_bytes, 37888ull * 1024);
  EXPECT_EQ(find_swap_area(areas, "/dev/loop"), nullptr);
}

}  // namespace
}  // namespace duende::supervisor
