#include "proc_status.hpp"

#include <gtest/gtest.h>

#include <cerrno>

#include "duende/mlock.hpp"
#include "fixture.hpp"
#include "param_name.hpp"

namespace duende::mlock::internal {
namespace {

using test::read_fixture;

TEST(ParseKbValue, ReturnsBytesForKbLine) {
  const auto r = parse_kb_value("\t    5696 kB");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(*r, 5696u * 1024);
}

struct BadKb {
  const char* text;
  const char* expected_fragment;
};

class ParseKbValueRejects : public testing::TestWithParam<BadKb> {};

TEST_P(ParseKbValueRejects, WithAClearMessage) {
  const auto r = parse_kb_value(GetParam().text);
  ASSERT_FALSE(r) << "accepted \"" << GetParam().text << "\" as " << *r;
  EXPECT_NE(r.error().find(GetParam().expected_fragment), std::string::npos) << r.error();
}

INSTANTIATE_TEST_SUITE_P(Table, ParseKbValueRejects,
                         testing::Values(BadKb{"", "empty"}, BadKb{"   ", "empty"},
                                         BadKb{"kB", "not a number"},
                                         BadKb{"-4 kB", "not a number"}, BadKb{"12x4 kB", "unit"},
                                         BadKb{"12 MB", "unit"}, BadKb{"12", "unit"},
                                         BadKb{"18014398509481984 kB", "out of range"},
                                         BadKb{"99999999999999999999999 kB", "out of range"}),
                         [](const auto& i) { return test::param_name(i.param.text, i.index); });

TEST(ParseKbValue, AcceptsLargestRepresentableValue) {
  const auto r = parse_kb_value("18014398509481983 kB");  // (2^64 - 1) / 1024
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(*r, 18014398509481983ull * 1024);
}

TEST(ParseProcStatus, ReadsLockedProcessFigures) {
  const auto r = parse_proc_status(read_fixture("proc_status_locked.txt"));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->vm_lck, 6720u * 1024);
  EXPECT_GT(*r->vm_rss, 0u);
  EXPECT_EQ(r->vm_swap, 0u);
  EXPECT_EQ(r->vm_pin, 0u);
  EXPECT_EQ(r->threads, 1);
  EXPECT_EQ(r->state, 'S');
}

TEST(ParseProcStatus, ReadsUnlockedProcessAsZeroLocked) {
  const auto r = parse_proc_status(read_fixture("proc_status_unlocked.txt"));
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->vm_lck, 0u);
}

TEST(ParseProcStatus, LeavesFiguresAbsentForKernelThreadAndZombie) {
  for (const char* name : {"proc_status_kthread.txt", "proc_status_zombie.txt"}) {
    const auto r = parse_proc_status(read_fixture(name));
    ASSERT_TRUE(r) << name << ": " << r.error();
    EXPECT_FALSE(r->vm_lck.has_value()) << name;
    EXPECT_FALSE(r->vm_rss.has_value()) << name;
  }
  EXPECT_EQ(parse_proc_status(read_fixture("proc_status_zombie.txt"))->state, 'Z');
}

class ParseProcStatusRejects : public testing::TestWithParam<const char*> {};

TEST_P(ParseProcStatusRejects, MalformedFixtureNamingVmLck) {
  const auto r = parse_proc_status(read_fixture(GetParam()));
  ASSERT_FALSE(r) << GetParam() << " parsed, VmLck=" << r->vm_lck.value_or(0);
  EXPECT_EQ(r.error().rfind("VmLck: ", 0), 0u) << r.error();
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ParseProcStatusRejects,
                         testing::Values("proc_status_truncated.txt", "proc_status_malformed.txt",
                                         "proc_status_overflow.txt", "proc_status_bad_unit.txt"),
                         test::StringParamName());

TEST(ParseProcStatus, TellsKernelThreadsApart) {
  EXPECT_TRUE(parse_proc_status(read_fixture("proc_status_kthread.txt"))->kernel_thread);
  EXPECT_FALSE(parse_proc_status(read_fixture("proc_status_locked.txt"))->kernel_thread);
}

TEST(ParseProcStatus, RejectsDuplicateField) {
  const auto r = parse_proc_status("VmLck:\t4 kB\nVmLck:\t8 kB\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("twice"), std::string::npos) << r.error();
}

TEST(ParseProcStatus, SurvivesHugeAndBinaryInput) {
  std::string huge(8 << 20, 'x');
  huge += "\nVmLck:\t 8 kB\n";
  const auto r = parse_proc_status(huge);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->vm_lck, 8192u);

  std::string binary;
  for (int i = 0; i < 4096; ++i) binary.push_back(static_cast<char>(i * 37));
  const auto b = parse_proc_status(binary);
  if (b) {
    EXPECT_FALSE(b->vm_lck.has_value());  // garbage never yields a figure
  }
}

// Found by the proc_status fuzz target (tests/fuzz/regressions/proc_status): with CRLF
// line endings, a State: of blanks was read as the state '\r'.
TEST(ParseProcStatus, CrlfLineEndingsReadAsLf) {
  const std::string lf = read_fixture("proc_status_locked.txt");
  std::string crlf;
  for (char c : lf) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  const auto a = parse_proc_status(lf), b = parse_proc_status(crlf);
  ASSERT_TRUE(a) << a.error();
  ASSERT_TRUE(b) << b.error();
  EXPECT_EQ(a->vm_lck, b->vm_lck);
  EXPECT_EQ(a->state, b->state);
  const auto blank = parse_proc_status("State:\t\r\nVmLck:\t 8 kB\r\n");
  ASSERT_FALSE(blank) << "State '" << blank->state << "'";
  EXPECT_NE(blank.error().find("State"), std::string::npos) << blank.error();
}

}  // namespace
}  // namespace duende::mlock::internal

namespace duende::mlock {
namespace {

// The public entry for a text the caller read itself: inspect()'s figures and verdicts.
TEST(InspectStatusText, GivesTheFiguresOfAStatusText) {
  const auto m = inspect_status_text(42, test::read_fixture("proc_status_locked.txt"));
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->pid, 42);
  EXPECT_EQ(m->locked_bytes, 6720u * 1024);
  EXPECT_EQ(m->resident_bytes, 6728u * 1024);
  EXPECT_EQ(m->swapped_bytes, 0u);
  EXPECT_FALSE(m->coverage_checked);
}

TEST(InspectStatusText, ZombieKernelThreadAndBadTextAreInspectsErrors) {
  const auto zombie = inspect_status_text(42, test::read_fixture("proc_status_zombie.txt"));
  ASSERT_FALSE(zombie);
  EXPECT_EQ(zombie.error().error_number, ESRCH);
  const auto kthread = inspect_status_text(2, test::read_fixture("proc_status_kthread.txt"));
  ASSERT_FALSE(kthread);
  EXPECT_EQ(kthread.error().error_number, EINVAL);
  const auto bad = inspect_status_text(42, test::read_fixture("proc_status_malformed.txt"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().error_number, EINVAL);
  EXPECT_NE(bad.error().message.find("pid 42: /proc/42/status: "), std::string::npos)
      << bad.error().message;
  EXPECT_EQ(inspect_status_text(0, "").error().error_number, EINVAL);
}

}  // namespace
}  // namespace duende::mlock
