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

TEST(ParseSmapsCoverage, LockedProcessHasNoResidentUnlockedBytes) {
  const auto r = parse_smaps_coverage(read_fixture("proc_smaps_locked.txt"));
  ASSERT_TRUE(r) << r.error();
  EXPECT_GT(r->locked_bytes, 0u);
  EXPECT_EQ(r->locked_bytes % 1024, 0u);
  EXPECT_EQ(r->resident_unlocked_bytes, 0u);
  EXPECT_EQ(r->swapped_bytes, 0u);
  EXPECT_EQ(r->first_unlocked, "");
}

TEST(ParseSmapsCoverage, NamesTheUnlockedHeap) {
  const auto r = parse_smaps_coverage(read_fixture("proc_smaps_partial.txt"));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->first_unlocked, "559194cfd000-559194d1e000 rw-p [heap]");
  EXPECT_EQ(r->resident_unlocked_bytes, 132u * 1024);
}

TEST(ParseSmapsCoverage, SumsLockedAndResidentUnlockedOfAPartialLock) {
  const auto r = parse_smaps_coverage(read_fixture("proc_smaps_partial_rss.txt"));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->mappings, 10u);
  EXPECT_EQ(r->lockable_mappings, 7u);  // not [vvar], [vdso], [vsyscall]
  EXPECT_EQ(r->unlocked_mappings, 2u);
  // Locked is a PSS: libc's shared text counts 100 kB of its 1400 kB resident.
  EXPECT_EQ(r->locked_bytes, (8u + 64 + 132 + 100 + 132) * 1024);
  // The munlock()ed 4 MiB and libfoo's data; the unlocked [vdso]'s 4 kB does not count.
  EXPECT_EQ(r->resident_unlocked_bytes, (4096u + 8) * 1024);
  EXPECT_EQ(r->swapped_bytes, 0u);
  EXPECT_EQ(r->first_unlocked, "7f3a00000000-7f3a00400000 rw-p");
}

TEST(ParseSmapsCoverage, CountsSwappedSharedMemoryThatVmSwapMisses) {
  const auto r = parse_smaps_coverage(read_fixture("proc_smaps_shmem_swap.txt"));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->unlocked_mappings, r->lockable_mappings);
  EXPECT_EQ(r->locked_bytes, 0u);
  // Anonymous 256 kB (VmSwap's), memfd 4096, /dev/shm 1024, SysV 512, shared /dev/zero
  // 128, a private memfd 64.
  EXPECT_EQ(r->swapped_bytes, (256u + 4096 + 1024 + 512 + 128 + 64) * 1024);
  EXPECT_EQ(r->swapped_shmem_bytes, (4096u + 1024 + 512 + 128 + 64) * 1024);
  EXPECT_EQ(r->first_unlocked, "55d0c0a00000-55d0c0a02000 r--p /usr/sbin/ublk-server");
  EXPECT_EQ(r->resident_unlocked_bytes,
            (8u + 64 + 132 + 7936 + 61440 + 3072 + 1536 + 896 + 960 + 4 + 12) * 1024);
}

TEST(ParseSmapsCoverage, EscapesTheUnlockedMappingsName) {
  const auto r = parse_smaps_coverage(
      "7f0000000000-7f0000001000 rw-s 00000000 00:01 7    /memfd:\x1b\x07 (deleted)\n"
      "VmFlags: rd wr sh\n");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->first_unlocked, "7f0000000000-7f0000001000 rw-s /memfd:\\x1b\\x07 (deleted)");
  const auto raw = parse_smaps_coverage(
      "7f0000000000-7f0000001000 rw-p 00000000 00:01 7    /tmp/\x1b[2J\xff\n"
      "VmFlags: rd wr\n");
  ASSERT_TRUE(raw) << raw.error();
  EXPECT_EQ(raw->first_unlocked, "7f0000000000-7f0000001000 rw-p /tmp/\\x1b[2J\\xff");
}

struct BadFigures {
  const char* name;
  const char* text;
  const char* expected_fragment;
};

class ParseSmapsCoverageRejectsFigures : public testing::TestWithParam<BadFigures> {};

TEST_P(ParseSmapsCoverageRejectsFigures, NamingTheMapping) {
  const auto r = parse_smaps_coverage(GetParam().text);
  ASSERT_FALSE(r) << "resident unlocked " << r->resident_unlocked_bytes;
  EXPECT_NE(r.error().find(GetParam().expected_fragment), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("mapping \"7f000000"), std::string::npos) << r.error();
}

constexpr const char* kHugeRss =
    "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \nRss: 18014398509481983 kB\n"
    "VmFlags: rd wr\n"
    "7f0000001000-7f0000002000 rw-p 00000000 00:00 0 \nRss: 18014398509481983 kB\n"
    "VmFlags: rd wr\n";

INSTANTIATE_TEST_SUITE_P(
    Table, ParseSmapsCoverageRejectsFigures,
    testing::Values(
        BadFigures{"bad_rss", "7f0000000000-7f0000001000 rw-p 0 00:00 0 \nRss: 4 MB\nVmFlags: rd\n",
                   "Rss: expected unit kB"},
        BadFigures{"bad_swap", "7f0000000000-7f0000001000 rw-p 0 00:00 0 \nSwap: x kB\nVmFlags:\n",
                   "Swap: not a number"},
        BadFigures{"twice",
                   "7f0000000000-7f0000001000 rw-p 0 00:00 0 \nLocked: 4 kB\nLocked: 4 kB\n"
                   "VmFlags: rd lo\n",
                   "Locked: appears twice"},
        BadFigures{"after_flags",
                   "7f0000000000-7f0000001000 rw-p 0 00:00 0 \nVmFlags: rd\nRss: 4 kB\n",
                   "after the VmFlags line"},
        BadFigures{"sum_overflow", kHugeRss, "does not fit in 64 bits"}),
    [](const auto& i) { return test::param_name(i.param.name, i.index); });

struct ShmemCase {
  const char* perms;
  const char* name;
  bool shmem;
};

class IsShmemMapping : public testing::TestWithParam<ShmemCase> {};

TEST_P(IsShmemMapping, TellsSharedMemory) {
  EXPECT_EQ(is_shmem_mapping(GetParam().perms, GetParam().name), GetParam().shmem)
      << GetParam().perms << " " << GetParam().name;
}

INSTANTIATE_TEST_SUITE_P(
    Table, IsShmemMapping,
    testing::Values(ShmemCase{"rw-s", "/dev/zero (deleted)", true},
                    ShmemCase{"rw-s", "/dev/shm/ring", true},
                    ShmemCase{"r--s", "/usr/share/fonts/x.cache", true},  // Swap: 0 anyway
                    ShmemCase{"rw-s", "", true}, ShmemCase{"rw-p", "/memfd:buf (deleted)", true},
                    ShmemCase{"rw-s", "/SYSV00000000 (deleted)", true},
                    ShmemCase{"rw-p", "/dev/zero", false},  // private: anonymous memory
                    ShmemCase{"rw-p", "[heap]", false}, ShmemCase{"rw-p", "", false},
                    ShmemCase{"r-xp", "/usr/lib/x.so", false}),
    [](const auto& i) {
      return test::param_name(std::string(i.param.perms) + i.param.name, i.index);
    });

TEST(DescribeMapping, KeepsRangePermsAndName) {
  EXPECT_EQ(describe_mapping("7f12a000-7f12c000 r-xp 00002000 fe:00 1311     /usr/lib/x.so"),
            "7f12a000-7f12c000 r-xp /usr/lib/x.so");
  EXPECT_EQ(describe_mapping("7f12a000-7f12c000 rw-p 00000000 00:00 0 "), "7f12a000-7f12c000 rw-p");
  EXPECT_EQ(describe_mapping("7f12a000-7f12c000 rw-p 00000000 00:00 0   /tmp/a b  c"),
            "7f12a000-7f12c000 rw-p /tmp/a b  c");
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
