// parse_task_stat() and the public parse_task_stat_flags() on /proc/PID/task/TID/stat lines.
#include "proc_task_stat.hpp"

#include <gtest/gtest.h>

#include "duende/mlock.hpp"
#include "fixture.hpp"
#include "param_name.hpp"

namespace duende::mlock::internal {
namespace {

using test::read_fixture;

TEST(ParseTaskStat, ReadsBothIoFlusherFlags) {
  const std::string text = read_fixture("proc_task_stat_io_flusher.txt");
  const auto r = parse_task_stat(text);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->tid, 4242);
  EXPECT_EQ(r->comm, "ublk-server");
  EXPECT_EQ(r->state, 'S');
  EXPECT_EQ(r->flags, 0x00584540u);
  EXPECT_EQ(r->flags & kIoFlusherFlags, kIoFlusherFlags);
}

TEST(ParseTaskStat, PlainThreadLacksTheFlags) {
  const std::string text = read_fixture("proc_task_stat_plain.txt");
  const auto r = parse_task_stat(text);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->comm, "worker 1");
  EXPECT_EQ(r->flags, 0x00400040u);
  EXPECT_EQ(r->flags & kPfMemallocNoio, 0u);
  EXPECT_EQ(r->flags & kPfLocalThrottle, 0u);
}

TEST(ParseTaskStat, ReadsFieldsAfterTheLastParenthesis) {
  // The name "a) R 1 2 3 4" would give state R and flags 1 if read after the first ')'.
  const std::string text = read_fixture("proc_task_stat_odd_comm.txt");
  const auto r = parse_task_stat(text);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->comm, "a) R 1 2 3 4");
  EXPECT_EQ(r->state, 'S');
  EXPECT_EQ(r->flags, 0x00584540u);
}

TEST(ParseTaskStat, AcceptsEmptyNameAndNoTrailingFields) {
  const auto r = parse_task_stat("7 () Z 1 7 7 0 -1 4194316");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->comm, "");
  EXPECT_EQ(r->state, 'Z');
  EXPECT_EQ(r->flags, 4194316u);
}

struct BadStat {
  const char* name;
  std::string text;
  const char* expected_fragment;
};

class ParseTaskStatRejects : public testing::TestWithParam<BadStat> {};

TEST_P(ParseTaskStatRejects, WithAClearMessage) {
  const auto r = parse_task_stat(GetParam().text);
  ASSERT_FALSE(r) << "accepted flags " << r->flags;
  EXPECT_NE(r.error().find(GetParam().expected_fragment), std::string::npos) << r.error();
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseTaskStatRejects,
    testing::Values(
        BadStat{"truncated_fixture", read_fixture("proc_task_stat_truncated.txt"),
                "too few fields"},
        BadStat{"non_numeric_fixture", read_fixture("proc_task_stat_non_numeric.txt"),
                "flags: not a number"},
        BadStat{"empty", "", "TID (COMM)"}, BadStat{"no_tid", "(cat) S 1 1 1 0 -1 0", "TID (COMM)"},
        BadStat{"bad_tid", "4x2 (cat) S 1 1 1 0 -1 0", "tid: not a number"},
        BadStat{"negative_tid", "-4 (cat) S 1 1 1 0 -1 0", "tid: not a number"},
        BadStat{"no_close", "42 (cat S 1 1 1 0 -1 0", "no ')'"},
        BadStat{"eight_fields", "42 (cat) S 1 1 1 0 -1\n", "too few fields"},
        BadStat{"overflow", "42 (cat) S 1 1 1 0 -1 4294967296", "flags: out of range"},
        BadStat{"huge", "42 (cat) S 1 1 1 0 -1 99999999999999999999999", "flags: out of range"},
        BadStat{"negative_flags", "42 (cat) S 1 1 1 0 -1 -4194304", "flags: not a number"},
        BadStat{"long_state", "42 (cat) Sleeping 1 1 1 0 -1 0", "state: not one letter"}),
    [](const auto& i) { return test::param_name(i.param.name, i.index); });

TEST(ParseTaskStatFlags, ReturnsFlagsOfOneLine) {
  const auto r = parse_task_stat_flags(read_fixture("proc_task_stat_io_flusher.txt"));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(*r, 0x00584540u);
  EXPECT_EQ(*parse_task_stat_flags("42 (cat) S 1 1 1 0 -1 4294967295"), 0xffffffffu);
}

TEST(ParseTaskStatFlags, ReportsTheParsersError) {
  const auto r = parse_task_stat_flags(read_fixture("proc_task_stat_truncated.txt"));
  ASSERT_FALSE(r) << *r;
  EXPECT_EQ(r.error(), "too few fields: flags (field 9) is missing");
}

TEST(IoFlusherFlags, AreTheKernelsBits) {
  EXPECT_EQ(kPfMemallocNoio, 0x00080000u);   // PF_MEMALLOC_NOIO, include/linux/sched.h
  EXPECT_EQ(kPfLocalThrottle, 0x00100000u);  // PF_LOCAL_THROTTLE
  EXPECT_EQ(kIoFlusherFlags, 0x00180000u);
}

}  // namespace
}  // namespace duende::mlock::internal
