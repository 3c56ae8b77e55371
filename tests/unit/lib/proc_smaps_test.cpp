#include "proc_smaps.hpp"

#include <gtest/gtest.h>

#include "fixture.hpp"
#include "param_name.hpp"

namespace duende::mlock::internal {
namespace {

using test::read_fixture;

TEST(ParseSmapsCoverage, LockedProcessIsFullyCovered) {
  const auto r = parse_smaps_coverage(read_fixture("proc_smaps_locked.txt"));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->mappings, 46u);
  EXPECT_GT(r->lockable_mappings, 30u);
  EXPECT_LT(r->lockable_mappings, r->mappings);  // [vvar], [vdso], [vsyscall] are not
  EXPECT_EQ(r->unlocked_mappings, 0u);
}

TEST(ParseSmapsCoverage, UnlockedProcessHasEveryLockableMappingUnlocked) {
  const auto r = parse_smaps_coverage(read_fixture("proc_smaps_unlocked.txt"));
  ASSERT_TRUE(r) << r.error();
  EXPECT_GT(r->lockable_mappings, 0u);
  EXPECT_EQ(r->unlocked_mappings, r->lockable_mappings);
}

TEST(ParseSmapsCoverage, CountsOneUnlockedHeap) {
  const auto r = parse_smaps_coverage(read_fixture("proc_smaps_partial.txt"));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->unlocked_mappings, 1u);
}

TEST(ParseSmapsCoverage, TruncatedTextIsAnErrorNotFullCoverage) {
  const auto r = parse_smaps_coverage(read_fixture("proc_smaps_truncated.txt"));
  ASSERT_FALSE(r) << "lockable " << r->lockable_mappings;
  EXPECT_NE(r.error().find("has no VmFlags line"), std::string::npos) << r.error();
}

TEST(ParseSmapsCoverage, RejectsTextBeforeFirstMapping) {
  const auto r = parse_smaps_coverage("Rss:   4 kB\nVmFlags: rd lo\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("before the first mapping"), std::string::npos) << r.error();
}

TEST(ParseSmapsCoverage, RejectsSecondVmFlagsLine) {
  const auto r = parse_smaps_coverage(
      "00400000-00401000 r--p 00000000 00:00 0 \nVmFlags: rd lo\nVmFlags: rd\n");
  ASSERT_FALSE(r);
}

TEST(ParseSmapsCoverage, HandlesManyMappings) {
  std::string text;
  for (int i = 0; i < 100000; ++i)
    text += "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \nRss: 4 kB\nVmFlags: rd wr lo\n";
  text +=
      "7f0000000000-7f0000001000 rw-p 00000000 00:00 0   /tmp/a file with spaces\n"
      "VmFlags: rd wr\n";
  const auto r = parse_smaps_coverage(text);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->mappings, 100001u);
  EXPECT_EQ(r->unlocked_mappings, 1u);
}

struct MappingCase {
  const char* flags;
  const char* name;
  bool unlockable;
};

class IsUnlockableMapping : public testing::TestWithParam<MappingCase> {};

TEST_P(IsUnlockableMapping, FollowsKernelRules) {
  EXPECT_EQ(is_unlockable_mapping(GetParam().flags, GetParam().name), GetParam().unlockable)
      << GetParam().flags << " " << GetParam().name;
}

INSTANTIATE_TEST_SUITE_P(
    Table, IsUnlockableMapping,
    testing::Values(MappingCase{" rd mr pf io de dd ", "[vvar]", true},
                    MappingCase{" rd ex mr mw me de ", "[vdso]", true},
                    MappingCase{" ex ", "[vsyscall]", true},
                    MappingCase{" rd wr mr mw me mm ", "/dev/fb0", true},
                    MappingCase{" rd wr mr mw me ht ", "/dev/hugepages/x", true},
                    MappingCase{" rd wr mr mw me ac ", "[heap]", false},
                    MappingCase{" rd wr mr mw me lo ac ", "", false},
                    MappingCase{" mr mw me ac ", "", false},  // PROT_NONE reservations lock
                    MappingCase{" rd wr iodine ", "", false}),
    [](const auto& i) {
      return test::param_name(std::string(i.param.name) + i.param.flags, i.index);
    });

}  // namespace
}  // namespace duende::mlock::internal
