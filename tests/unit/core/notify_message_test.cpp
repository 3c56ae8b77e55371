// parse_notify_message: what a child's datagram means, and which datagrams are refused.
#include "core/notify_message.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

namespace duende::supervisor {
namespace {

using namespace std::string_literals;

NotifyMessage parsed(const std::string& text) {
  auto m = parse_notify_message(text);
  EXPECT_TRUE(m.has_value()) << text << ": " << m.error();
  return m ? *m : NotifyMessage{};
}

std::string refused(const std::string& text) {
  auto m = parse_notify_message(text);
  EXPECT_FALSE(m.has_value()) << text;
  return m ? "" : m.error();
}

TEST(ParseNotifyMessage, ReadsTheSwapDeviceAChildServes) {
  const NotifyMessage m = parsed("READY=1\nX_DUENDE_SWAP_DEVICE=/dev/loop7\n");
  EXPECT_TRUE(m.ready);
  EXPECT_EQ(m.swap_device, "/dev/loop7");
  EXPECT_FALSE(parsed("READY=1").swap_device);
}

TEST(ParseNotifyMessage, ReadsReady) {
  EXPECT_TRUE(parsed("READY=1").ready);
  EXPECT_TRUE(parsed("READY=1\n").ready);
  EXPECT_FALSE(parsed("READY=0").ready);
  EXPECT_FALSE(parsed("READY=yes").ready);  // only "1" means ready, as in systemd
}

TEST(ParseNotifyMessage, ReadsStatusAndStopping) {
  const NotifyMessage m = parsed("STATUS=serving 3 devices = ok\nSTOPPING=1\n");
  EXPECT_EQ(m.status, "serving 3 devices = ok");  // only the first '=' separates
  EXPECT_TRUE(m.stopping);
  EXPECT_FALSE(m.ready);
  EXPECT_FALSE(m.lock.has_value());
  EXPECT_EQ(parsed("STATUS=").status, "");
  EXPECT_FALSE(parsed("READY=1").status.has_value());
}

TEST(ParseNotifyMessage, ReadsTheLibrarysLockReport) {
  const NotifyMessage m =
      parsed("X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=5832704\nX_DUENDE_MLOCK_ERRNO=0\n");
  ASSERT_TRUE(m.lock.has_value());
  EXPECT_EQ(m.lock->kind(), mlock::MlockStatus::Kind::Locked);
  EXPECT_EQ(m.lock->bytes_locked(), 5832704u);
  EXPECT_EQ(m.lock->failure_errno(), 0);
  EXPECT_EQ(lock_report_text(*m.lock), "locked (5696 KiB)");
  EXPECT_FALSE(m.ready);  // a lock report is not READY=1
}

TEST(ParseNotifyMessage, ReadsFailedAndUnsupportedReports) {
  const NotifyMessage failed =
      parsed("X_DUENDE_MLOCK=failed\nX_DUENDE_MLOCK_BYTES=0\nX_DUENDE_MLOCK_ERRNO=1");
  ASSERT_TRUE(failed.lock.has_value());
  EXPECT_EQ(failed.lock->kind(), mlock::MlockStatus::Kind::Failed);
  EXPECT_EQ(failed.lock->failure_errno(), EPERM);
  EXPECT_EQ(lock_report_text(*failed.lock), "failed: Operation not permitted");

  const NotifyMessage unsupported = parsed("X_DUENDE_MLOCK=unsupported");
  ASSERT_TRUE(unsupported.lock.has_value());
  EXPECT_EQ(unsupported.lock->kind(), mlock::MlockStatus::Kind::Unsupported);
  EXPECT_EQ(lock_report_text(*unsupported.lock), "unsupported");
}

TEST(ParseNotifyMessage, LockFiguresWithoutTheStateAreNoReport) {
  EXPECT_FALSE(parsed("X_DUENDE_MLOCK_BYTES=4096\nX_DUENDE_MLOCK_ERRNO=0").lock.has_value());
}

TEST(ParseNotifyMessage, CombinesReadyStatusAndReportInOneDatagram) {
  const NotifyMessage m =
      parsed("READY=1\nSTATUS=up\nX_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=4096\n");
  EXPECT_TRUE(m.ready);
  EXPECT_EQ(m.status, "up");
  ASSERT_TRUE(m.lock.has_value());
  EXPECT_EQ(m.lock->bytes_locked(), 4096u);
}

TEST(ParseNotifyMessage, IgnoresUnknownKeysAndEmptyLines) {
  const NotifyMessage m = parsed("\nMAINPID=42\nWATCHDOG=1\n\nX_VENDOR_THING=a=b\nREADY=1\n\n");
  EXPECT_TRUE(m.ready);
  EXPECT_FALSE(m.lock.has_value());
  EXPECT_EQ(parsed(""), NotifyMessage{});
  EXPECT_EQ(parsed("\n\n"), NotifyMessage{});
}

TEST(ParseNotifyMessage, RefusesLinesWithoutAKey) {
  EXPECT_EQ(refused("READY=1\ngarbage"), "line without KEY=: \"garbage\"");
  EXPECT_EQ(refused("=1"), "line without KEY=: \"=1\"");
  // The message quotes at most 32 bytes of a long line.
  EXPECT_EQ(refused(std::string(100, 'x')), "line without KEY=: \"" + std::string(32, 'x') + "\"");
}

TEST(ParseNotifyMessage, RefusesNulBytes) {
  EXPECT_EQ(refused("READY=1\0STATUS=x"s), "NUL byte in datagram");
  EXPECT_EQ(refused("\0"s), "NUL byte in datagram");
}

TEST(ParseNotifyMessage, RefusesOversizedDatagrams) {
  const std::string at_limit = "STATUS=" + std::string(kMaxNotifyMessage - 7, 'x');
  ASSERT_EQ(at_limit.size(), kMaxNotifyMessage);
  EXPECT_EQ(parsed(at_limit).status->size(), kMaxNotifyMessage - 7);
  EXPECT_EQ(refused(at_limit + "x"), "datagram too large");
}

struct BadReport {
  std::string text;
  std::string error;
};

class ParseNotifyMessageRefusesReport : public testing::TestWithParam<BadReport> {};

TEST_P(ParseNotifyMessageRefusesReport, WithAMessage) {
  EXPECT_EQ(refused(GetParam().text), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    ParseNotifyMessage, ParseNotifyMessageRefusesReport,
    testing::Values(BadReport{"X_DUENDE_MLOCK=maybe", "X_DUENDE_MLOCK: unknown value \"maybe\""},
                    BadReport{"X_DUENDE_MLOCK=", "X_DUENDE_MLOCK: unknown value \"\""},
                    BadReport{"X_DUENDE_MLOCK=LOCKED", "X_DUENDE_MLOCK: unknown value \"LOCKED\""},
                    BadReport{"X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=12kB",
                              "X_DUENDE_MLOCK_BYTES: not a number"},
                    BadReport{"X_DUENDE_MLOCK_BYTES=", "X_DUENDE_MLOCK_BYTES: not a number"},
                    BadReport{"X_DUENDE_MLOCK_BYTES=-1", "X_DUENDE_MLOCK_BYTES: not a number"},
                    BadReport{"X_DUENDE_MLOCK_BYTES=18446744073709551616",
                              "X_DUENDE_MLOCK_BYTES: not a number"},
                    BadReport{"X_DUENDE_MLOCK_ERRNO=-1", "X_DUENDE_MLOCK_ERRNO: not an errno"},
                    BadReport{"X_DUENDE_MLOCK_ERRNO=EPERM", "X_DUENDE_MLOCK_ERRNO: not an errno"},
                    BadReport{"X_DUENDE_MLOCK_ERRNO=99999999999",
                              "X_DUENDE_MLOCK_ERRNO: not an errno"}));

TEST(ParseNotifyMessage, AcceptsTheLargestByteCount) {
  const NotifyMessage m =
      parsed("X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=18446744073709551615");
  ASSERT_TRUE(m.lock.has_value());
  EXPECT_EQ(m.lock->bytes_locked(), 18446744073709551615u);
}

}  // namespace
}  // namespace duende::supervisor
