// The lock report datagram: parsed back from its text, and received on a socket the test
// owns.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "duende/mlock.hpp"
#include "forked_child.hpp"
#include "param_name.hpp"
#include "privilege.hpp"

namespace duende::mlock {
namespace {

std::optional<MlockStatus> parsed(std::string_view datagram) {
  const auto r = parse_lock_report(datagram);
  EXPECT_TRUE(r) << r.error();
  return r ? *r : std::nullopt;
}

class ParseLockReportRoundTrip : public testing::TestWithParam<MlockStatus> {};

TEST_P(ParseLockReportRoundTrip, GivesBackWhatFormatLockReportWrote) {
  EXPECT_EQ(parsed(format_lock_report(GetParam())), GetParam());
}

INSTANTIATE_TEST_SUITE_P(Statuses, ParseLockReportRoundTrip,
                         testing::Values(MlockStatus::locked(0), MlockStatus::locked(4096),
                                         MlockStatus::locked(UINT64_MAX),
                                         MlockStatus::failed(EPERM), MlockStatus::failed(ENOMEM),
                                         MlockStatus::failed(INT_MAX), MlockStatus::unsupported()),
                         [](const auto& i) {
                           return test::param_name(i.param.to_string(), i.index);
                         });

TEST(ParseLockReport, DropsOnfaultDroppedWhichTheReportDoesNotCarry) {
  EXPECT_EQ(parsed(format_lock_report(MlockStatus::locked(8192, true))), MlockStatus::locked(8192));
}

TEST(ParseLockReport, IgnoresOtherKeysAndLinesWithoutEquals) {
  EXPECT_EQ(parsed("READY=1\nSTATUS=x\nX_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=4096\n"),
            MlockStatus::locked(4096));
  EXPECT_EQ(parsed("garbage\n\nX_DUENDE_MLOCKX=nonsense\n=\nX_DUENDE_MLOCK=failed\n"
                   "X_DUENDE_MLOCK_ERRNO=12"),
            MlockStatus::failed(12));
}

TEST(ParseLockReport, WithoutStateIsNotAReport) {
  const auto r = parse_lock_report("READY=1\nSTATUS=serving\nX_DUENDE_MLOCK_BYTES=4096\n");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(*r, std::nullopt);
  const auto empty = parse_lock_report("");
  ASSERT_TRUE(empty) << empty.error();
  EXPECT_EQ(*empty, std::nullopt);
}

TEST(ParseLockReport, MissingNumbersCountAsZero) {
  EXPECT_EQ(parsed("X_DUENDE_MLOCK=locked"), MlockStatus::locked(0));
  EXPECT_EQ(parsed("X_DUENDE_MLOCK=failed\n"), MlockStatus::failed(0));
}

TEST(ParseLockReport, LastLineOfARepeatedKeyCounts) {
  EXPECT_EQ(parsed("X_DUENDE_MLOCK=failed\nX_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=1\n"
                   "X_DUENDE_MLOCK_BYTES=2\n"),
            MlockStatus::locked(2));
}

struct BadReport {
  const char* datagram;
  const char* error;
};

class ParseLockReportRejects : public testing::TestWithParam<BadReport> {};

TEST_P(ParseLockReportRejects, WithTheFieldsMessage) {
  const auto r = parse_lock_report(GetParam().datagram);
  ASSERT_FALSE(r) << "accepted " << GetParam().datagram;
  EXPECT_EQ(r.error(), GetParam().error);
}

constexpr const char* kNotANumber = "X_DUENDE_MLOCK_BYTES: not a number";
constexpr const char* kNotAnErrno = "X_DUENDE_MLOCK_ERRNO: not an errno";

INSTANTIATE_TEST_SUITE_P(
    Table, ParseLockReportRejects,
    testing::Values(
        BadReport{"X_DUENDE_MLOCK=", "X_DUENDE_MLOCK: unknown value \"\""},
        BadReport{"X_DUENDE_MLOCK=Locked", "X_DUENDE_MLOCK: unknown value \"Locked\""},
        BadReport{"X_DUENDE_MLOCK=locked ", "X_DUENDE_MLOCK: unknown value \"locked \""},
        BadReport{"X_DUENDE_MLOCK=0123456789abcdefghijklmnopqrstuvwxyz",
                  "X_DUENDE_MLOCK: unknown value \"0123456789abcdefghijklmnopqrstuv\""},
        BadReport{"X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=", kNotANumber},
        BadReport{"X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=12k", kNotANumber},
        BadReport{"X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=-1", kNotANumber},
        BadReport{"X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=+1", kNotANumber},
        BadReport{"X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES= 1", kNotANumber},
        BadReport{"X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=18446744073709551616", kNotANumber},
        BadReport{"X_DUENDE_MLOCK_BYTES=x\nREADY=1", kNotANumber},
        BadReport{"X_DUENDE_MLOCK=failed\nX_DUENDE_MLOCK_ERRNO=", kNotAnErrno},
        BadReport{"X_DUENDE_MLOCK=failed\nX_DUENDE_MLOCK_ERRNO=EPERM", kNotAnErrno},
        BadReport{"X_DUENDE_MLOCK=failed\nX_DUENDE_MLOCK_ERRNO=-1", kNotAnErrno},
        BadReport{"X_DUENDE_MLOCK=failed\nX_DUENDE_MLOCK_ERRNO=1.5", kNotAnErrno},
        BadReport{"X_DUENDE_MLOCK=failed\nX_DUENDE_MLOCK_ERRNO=2147483648", kNotAnErrno},
        BadReport{"X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_ERRNO=x", kNotAnErrno}),
    [](const auto& i) { return test::param_name(i.param.datagram, i.index); });

// A datagram socket with SO_PASSCRED bound at `path` (a leading '@' means abstract).
class ReportSocket {
 public:
  explicit ReportSocket(std::string path) : path_(std::move(path)) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const int on = 1;
    setsockopt(fd_, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.data(), path_.size());
    if (path_[0] == '@')
      addr.sun_path[0] = '\0';
    else
      unlink(path_.c_str());
    bind_ok_ = bind(fd_, reinterpret_cast<sockaddr*>(&addr),
                    offsetof(sockaddr_un, sun_path) + path_.size()) == 0;
  }
  ~ReportSocket() {
    close(fd_);
    if (path_[0] == '/') unlink(path_.c_str());
  }
  bool ok() const { return fd_ >= 0 && bind_ok_; }

  // Waits up to `ms` for one datagram; returns its text and fills `sender`.
  std::string receive(pid_t& sender, int ms = 5000) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, ms) != 1) return "(timeout)";
    char buf[1024];
    iovec iov{buf, sizeof buf};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = recvmsg(fd_, &msg, 0);
    if (n < 0) return "(recv error)";
    sender = -1;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
        sender = reinterpret_cast<ucred*>(CMSG_DATA(c))->pid;
    return std::string(buf, n);
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bind_ok_ = false;
};

std::string socket_path(const char* tag) {
  return "/tmp/duende-report-" + std::string(tag) + "-" + std::to_string(getpid());
}

TEST(LockReport, ArrivesWithTheChildsCredentials) {
  DUENDE_REQUIRE_LOCKING();
  ReportSocket sock(socket_path("ok"));
  ASSERT_TRUE(sock.ok());
  const std::string path = socket_path("ok");
  test::ForkedChild child([&path] {
    setenv("NOTIFY_SOCKET", path.c_str(), 1);
    setenv("DUENDE_MLOCK_REPORT", "1", 1);
    const auto r = lock_all();
    return r ? std::to_string(r->bytes_locked()) : r.error().message();
  });
  pid_t sender = 0;
  const std::string text = sock.receive(sender);
  EXPECT_EQ(sender, child.pid());
  EXPECT_EQ(text, "X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=" + child.message() +
                      "\nX_DUENDE_MLOCK_ERRNO=0\n");
}

TEST(LockReport, ReportsFailureWithErrno) {
  DUENDE_SKIP_IF_SANITIZED("ASan intercepts mlockall() as a no-op, so it cannot fail");
  ReportSocket sock("@duende-report-fail-" + std::to_string(getpid()));
  ASSERT_TRUE(sock.ok());
  const std::string path = "@duende-report-fail-" + std::to_string(getpid());
  test::ForkedChild child([&path] {
    setenv("NOTIFY_SOCKET", path.c_str(), 1);
    setenv("DUENDE_MLOCK_REPORT", "1", 1);
    const rlimit zero{0, 0};
    setrlimit(RLIMIT_MEMLOCK, &zero);
    if (geteuid() == 0 && setuid(65534) != 0) return std::string("setup failed");
    return std::string(lock_all() ? "locked?" : "failed");
  });
  pid_t sender = 0;
  const std::string text = sock.receive(sender);
  EXPECT_EQ(child.message(), "failed");
  EXPECT_EQ(sender, child.pid());
  EXPECT_EQ(text, "X_DUENDE_MLOCK=failed\nX_DUENDE_MLOCK_BYTES=0\nX_DUENDE_MLOCK_ERRNO=" +
                      std::to_string(EPERM) + "\n");
}

TEST(LockReport, NotSentWithoutReportVariable) {
  ReportSocket sock(socket_path("quiet"));
  ASSERT_TRUE(sock.ok());
  const std::string path = socket_path("quiet");
  test::ForkedChild child([&path] {
    setenv("NOTIFY_SOCKET", path.c_str(), 1);
    unsetenv("DUENDE_MLOCK_REPORT");
    return std::to_string(send_lock_report(MlockStatus::locked(4096)));
  });
  pid_t sender = 0;
  EXPECT_EQ(child.message(), "0");
  EXPECT_EQ(sock.receive(sender, 300), "(timeout)");
}

TEST(NotifySend, NeverBlocksWhenTheReceiverIsFull) {
  ReportSocket sock(socket_path("full"));  // never read: its queue fills up
  ASSERT_TRUE(sock.ok());
  const std::string path = socket_path("full");
  test::ForkedChild child([&path] {
    setenv("NOTIFY_SOCKET", path.c_str(), 1);
    int last = 0;
    for (int i = 0; i < 1000 && last == 0; ++i) last = notify_send("STATUS=filling");
    return std::to_string(last);
  });
  EXPECT_EQ(child.message(), std::to_string(EAGAIN));
}

TEST(NotifySend, WaitsForRoomWithATimeout) {
  ReportSocket sock(socket_path("wait"));
  ASSERT_TRUE(sock.ok());
  const std::string path = socket_path("wait");
  test::ForkedChild child([&path] {
    setenv("NOTIFY_SOCKET", path.c_str(), 1);
    int filled = 0;
    while (filled < 100000 && notify_send("STATUS=filling") == 0) ++filled;
    // The queue is full: a waiting send succeeds once the reader makes room.
    return std::to_string(notify_send("STATUS=waited", 20000));
  });
  // Let the child fill the queue before reading (if it did not get there, the test still
  // ends: the child's loop is bounded and the last datagram is the same).
  usleep(300 * 1000);
  pid_t sender = 0;
  std::string last;
  while (last != "STATUS=waited" && last != "(timeout)") last = sock.receive(sender);
  EXPECT_EQ(last, "STATUS=waited");
  EXPECT_EQ(child.message(), "0");
}

TEST(NotifySend, UnsetSocketIsNoOp) {
  test::ForkedChild child([] {
    unsetenv("NOTIFY_SOCKET");
    return std::to_string(notify_send("READY=1"));
  });
  EXPECT_EQ(child.message(), "0");
}

TEST(SendLockReport, RelativeSocketPathIsInvalid) {
  test::ForkedChild child([] {
    setenv("NOTIFY_SOCKET", "relative/socket", 1);
    setenv("DUENDE_MLOCK_REPORT", "1", 1);
    return std::to_string(send_lock_report(MlockStatus::locked(4096)));
  });
  EXPECT_EQ(child.message(), std::to_string(EINVAL));
}

}  // namespace
}  // namespace duende::mlock
