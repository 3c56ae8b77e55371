// The journal's native protocol: the entry's fields, and a socket that does not take them
// (dropped, counted, said once).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "os/log.hpp"

namespace duende::supervisor {
namespace {

std::string entry(LogLevel level, const LogFields& fields, std::string_view message) {
  char buf[kJournalEntryBytes];
  return std::string(buf, format_journal_entry(level, fields, message, buf));
}

TEST(FormatJournalEntry, CarriesPriorityIdentifierChildIdAndMessage) {
  EXPECT_EQ(entry(LogLevel::Warning, {"web", kMessageIdLockLost}, "web: lost its lock"),
            "PRIORITY=4\nSYSLOG_IDENTIFIER=mlock-supervisor\nCHILD=web\n"
            "MESSAGE_ID=61f43e8dad154113bd8e6dff7c0eb8ac\nMESSAGE=web: lost its lock\n");
  EXPECT_EQ(entry(LogLevel::Info, {}, "plain"),
            "PRIORITY=6\nSYSLOG_IDENTIFIER=mlock-supervisor\nMESSAGE=plain\n");
}

TEST(FormatJournalEntry, NoValueHoldsANewline) {
  EXPECT_EQ(entry(LogLevel::Error, {"a\nb"}, "x\ny\tz"),
            "PRIORITY=3\nSYSLOG_IDENTIFIER=mlock-supervisor\nCHILD=a b\nMESSAGE=x y\\x09z\n");
}

TEST(FormatJournalEntry, CutsALongMessageToTheEntrySize) {
  const std::string text = entry(LogLevel::Info, {"c"}, std::string(3 * kJournalEntryBytes, 'm'));
  EXPECT_EQ(text.size(), kJournalEntryBytes);
  EXPECT_EQ(text.back(), '\n');
}

// A journal socket the test owns, named by MLOCK_SUPERVISOR_JOURNAL_SOCKET.
class FakeJournal : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/journal-log-test.XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/socket";
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path_.c_str());
    ASSERT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::setenv("MLOCK_SUPERVISOR_JOURNAL_SOCKET", path_.c_str(), 1);
    log_init();
  }
  void TearDown() override {
    ::unsetenv("MLOCK_SUPERVISOR_JOURNAL_SOCKET");
    log_init();
    ::close(fd_);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  std::vector<std::string> received() {
    std::vector<std::string> out;
    char buf[kJournalEntryBytes + 1];
    for (ssize_t n; (n = ::recv(fd_, buf, sizeof buf, 0)) >= 0;)
      out.emplace_back(buf, static_cast<std::size_t>(n));
    return out;
  }
  std::string dir_, path_;
  int fd_ = -1;
};

TEST_F(FakeJournal, EachLogCallIsOneDatagram) {
  ASSERT_TRUE(log_to_journal());
  log(LogLevel::Critical, {"ramswap", kMessageIdSwapBackendLost}, "ramswap died with swap on");
  log_notice("reloading configuration");
  EXPECT_EQ(received(), (std::vector<std::string>{
                            entry(LogLevel::Critical, {"ramswap", kMessageIdSwapBackendLost},
                                  "ramswap died with swap on"),
                            entry(LogLevel::Notice, {}, "reloading configuration")}));
}

TEST_F(FakeJournal, AFullSocketDropsCountsAndSaysSoOnce) {
  ASSERT_TRUE(log_to_journal());
  constexpr int kSent = 2000;  // far more than a datagram queue holds
  for (int i = 0; i < kSent; ++i) log_info("entry " + std::to_string(i));  // returns at once
  const std::vector<std::string> first = received();
  ASSERT_LT(first.size(), static_cast<std::size_t>(kSent));
  ASSERT_FALSE(first.empty());
  const std::size_t dropped = kSent - first.size();
  log_info("after");
  EXPECT_EQ(received(), (std::vector<std::string>{
                            entry(LogLevel::Warning, {},
                                  "log: " + std::to_string(dropped) +
                                      " entries dropped while the journal was not accepting"),
                            entry(LogLevel::Info, {}, "after")}));
  log_info("later");
  EXPECT_EQ(received(), (std::vector<std::string>{entry(LogLevel::Info, {}, "later")}));
}

}  // namespace
}  // namespace duende::supervisor
