// log() against the real kernel: fd 2 redirected to a pipe or a stream socket whose reader
// the test controls. Lines are escaped; a reader that does not read never blocks the
// caller, its lines wait in the buffer (the rest is counted) and all come out, followed
// by the "lines dropped" line, once the reader reads again.
#include "os/log.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace duende::supervisor {
namespace {

using namespace std::chrono_literals;

enum class Reader { Pipe, Socket };

// For the duration of a test, fd 2 is the write end of a pipe or of a stream socket pair
// (log_init() on both changes); the test reads the other end, without blocking.
class RedirectedStderr {
 public:
  explicit RedirectedStderr(Reader reader) : reader_(reader) {
    int fds[2] = {-1, -1};
    if (reader == Reader::Pipe) {
      EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
      fcntl(fds[1], F_SETPIPE_SZ, 4096);  // small: draining takes several rounds
    } else {
      EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
      const int small = 4096;
      setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    }
    read_fd_ = fds[0];
    write_fd_ = fds[1];
    fcntl(read_fd_, F_SETFL, O_NONBLOCK);  // the reading end's own description
    saved_ = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    EXPECT_EQ(dup2(write_fd_, STDERR_FILENO), STDERR_FILENO);
    log_init();
  }
  RedirectedStderr(const RedirectedStderr&) = delete;
  RedirectedStderr& operator=(const RedirectedStderr&) = delete;
  ~RedirectedStderr() {
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    close(read_fd_);
    close(write_fd_);
    log_init();
  }

  // Writes filler bytes until the reader's side takes no more, through a path that never
  // blocks and leaves fd 2's description as it is; returns how many.
  std::size_t fill() {
    int filler = write_fd_;
    if (reader_ == Reader::Pipe)
      filler = open(("/proc/self/fd/" + std::to_string(write_fd_)).c_str(),
                    O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    EXPECT_GE(filler, 0);
    const std::string chunk(4096, 'f');
    std::size_t total = 0;
    for (std::size_t size = chunk.size(); size > 0; size /= 2) {
      ssize_t n;
      while ((n = send_or_write(filler, chunk.data(), size)) > 0)
        total += static_cast<std::size_t>(n);
    }
    if (filler != write_fd_) close(filler);
    return total;
  }

  // What the reader can read now.
  std::string read_available() {
    std::string text;
    char buf[8192];
    ssize_t n;
    while ((n = read(read_fd_, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
    return text;
  }

  // Reads, calling log_flush() between reads, until `size` bytes came or `deadline` passed.
  std::string read_with_flushes(std::size_t size, std::chrono::seconds deadline) {
    std::string text;
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (text.size() < size && std::chrono::steady_clock::now() < end) {
      log_flush();
      text += read_available();
      pollfd readable{read_fd_, POLLIN, 0};
      if (text.size() < size) poll(&readable, 1, 10);  // only waits when nothing came
    }
    return text;
  }

  int read_fd() const { return read_fd_; }

 private:
  ssize_t send_or_write(int fd, const char* p, std::size_t n) const {
    return reader_ == Reader::Socket ? send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL)
                                     : write(fd, p, n);
  }

  Reader reader_;
  int read_fd_ = -1;
  int write_fd_ = -1;
  int saved_ = -1;
};

// Runs `body` on a thread; true when it returned before `deadline`. When it did not, the
// reader is drained until it does, so that the test can report and end.
bool returns_within(std::chrono::seconds deadline, RedirectedStderr& err,
                    const std::function<void()>& body) {
  std::promise<void> returned;
  std::future<void> done = returned.get_future();
  std::thread worker([&] {
    body();
    returned.set_value();
  });
  const bool in_time = done.wait_for(deadline) == std::future_status::ready;
  while (done.wait_for(10ms) != std::future_status::ready) err.read_available();
  worker.join();
  return in_time;
}

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    const auto end = text.find('\n');
    lines.emplace_back(text.substr(0, end == text.npos ? text.size() : end + 1));
    text.remove_prefix(end == text.npos ? text.size() : end + 1);
  }
  return lines;
}

class LogWhileTheReaderDoesNotRead : public testing::TestWithParam<Reader> {};

TEST_P(LogWhileTheReaderDoesNotRead, ReturnsAtOnceAndWritesTheKeptLinesOnceItReads) {
  RedirectedStderr err(GetParam());
  const std::size_t filled = err.fill();
  ASSERT_GT(filled, 0u);
  // Lines of exactly 1024 bytes: the first 64 fill the buffer (kLogBufferBytes), the 36
  // after them are dropped.
  static_assert(kLogBufferBytes == 64 * 1024);
  std::vector<std::string> lines;
  for (int i = 0; i < 100; ++i) {
    std::string message = "line " + std::to_string(1000 + i) + " ";
    message.resize(1024 - 4, 'x');
    lines.push_back("<6>" + message + "\n");
  }
  ASSERT_TRUE(returns_within(5s, err, [&] {
    for (const std::string& line : lines) log_info(std::string_view(line).substr(3, 1020));
    log_flush();
  })) << "log() or log_flush() waited for the reader";
  EXPECT_EQ(fcntl(STDERR_FILENO, F_GETFL) & O_NONBLOCK, 0) << "fd 2's own description changed";
  EXPECT_EQ(err.read_available().size(), filled) << "nothing may pass the filler";

  const std::string dropped = "<4>log: 36 lines dropped while stderr was not accepting\n";
  const std::size_t expected = 64 * 1024 + dropped.size();
  const std::string text = err.read_with_flushes(expected, 20s);
  std::vector<std::string> want(lines.begin(), lines.begin() + 64);
  want.push_back(dropped);
  EXPECT_EQ(lines_of(text), want);

  // Back to normal: the next line goes out at once, without a flush.
  log_warning("after");
  EXPECT_EQ(err.read_available(), "<4>after\n");
}

TEST_P(LogWhileTheReaderDoesNotRead, WritesTheKeptLinesBeforeLaterOnes) {
  RedirectedStderr err(GetParam());
  const std::size_t filled = err.fill();
  ASSERT_TRUE(returns_within(5s, err, [] {
    for (int i = 0; i < 10; ++i) log_info("early " + std::to_string(i));
  }));
  ASSERT_EQ(err.read_available().size(), filled);
  // No log_flush(): the next log() writes what waits first.
  for (int i = 0; i < 10; ++i) log_info("late " + std::to_string(i));
  std::vector<std::string> want;
  for (int i = 0; i < 10; ++i) want.push_back("<6>early " + std::to_string(i) + "\n");
  for (int i = 0; i < 10; ++i) want.push_back("<6>late " + std::to_string(i) + "\n");
  EXPECT_EQ(lines_of(err.read_available()), want);
}

INSTANTIATE_TEST_SUITE_P(Log, LogWhileTheReaderDoesNotRead,
                         testing::Values(Reader::Pipe, Reader::Socket),
                         [](const testing::TestParamInfo<Reader>& info) {
                           return info.param == Reader::Pipe ? "Pipe" : "Socket";
                         });

struct EscapeCase {
  std::string_view message;
  std::string_view line;
};

class LogEscaping : public testing::TestWithParam<EscapeCase> {};

TEST_P(LogEscaping, WritesControlBytesAsHexEscapes) {
  RedirectedStderr err(Reader::Pipe);
  log_info(GetParam().message);
  EXPECT_EQ(err.read_available(), GetParam().line);
}

using std::string_view_literals::operator""sv;

INSTANTIATE_TEST_SUITE_P(Log, LogEscaping,
                         testing::Values(EscapeCase{"plain text", "<6>plain text\n"},
                                         EscapeCase{"a\0b"sv, "<6>a\\x00b\n"},
                                         EscapeCase{"tab\there", "<6>tab\\x09here\n"},
                                         EscapeCase{"one\ntwo\rthree", "<6>one two three\n"},
                                         EscapeCase{"\x1b[31mred\x7f", "<6>\\x1b[31mred\\x7f\n"},
                                         EscapeCase{"\x01\x1f\x20", "<6>\\x01\\x1f \n"},
                                         EscapeCase{"caf\xc3\xa9 \\x41",
                                                    "<6>caf\xc3\xa9 \\x41\n"}));

TEST(Log, PrefixesEachLevel) {
  RedirectedStderr err(Reader::Pipe);
  log_error("e");
  log_warning("w");
  log_notice("n");
  log_info("i");
  log(LogLevel::Debug, "d");
  EXPECT_EQ(err.read_available(), "<3>e\n<4>w\n<5>n\n<6>i\n<7>d\n");
}

TEST(Log, CutsLongMessagesNeverInsideAnEscape) {
  RedirectedStderr err(Reader::Pipe);
  log_info(std::string(5000, 'a'));
  EXPECT_EQ(err.read_available(), "<6>" + std::string(kLogLineBytes - 4, 'a') + "\n");
  // 3 + 4091 bytes leave room for 1 more, not for a 4-byte escape.
  log_info(std::string(kLogLineBytes - 5, 'b') + "\x01" + "c");
  EXPECT_EQ(err.read_available(), "<6>" + std::string(kLogLineBytes - 5, 'b') + "\n");
}

TEST(Log, KeepsErrno) {
  RedirectedStderr err(Reader::Pipe);
  err.fill();
  errno = ENOENT;
  log_info("while full");
  log_flush();
  EXPECT_EQ(errno, ENOENT);
}

TEST(Log, WritesToARegularFile) {
  char name[] = "/tmp/log-test-XXXXXX";
  const int file = mkostemp(name, O_CLOEXEC);
  ASSERT_GE(file, 0);
  unlink(name);
  const int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  dup2(file, STDERR_FILENO);
  log_init();
  log_notice("to a file\tok");
  dup2(saved, STDERR_FILENO);
  close(saved);
  log_init();
  char buf[64] = {};
  EXPECT_EQ(pread(file, buf, sizeof buf - 1, 0), 19);
  EXPECT_STREQ(buf, "<5>to a file\\x09ok\n");
  close(file);
}

void capture(LogLevel level, std::string_view message, void* context) {
  *static_cast<std::string*>(context) +=
      std::to_string(static_cast<int>(level)) + " " + std::string(message) + "|";
}

TEST(Log, SinkGetsTheRawMessageAndStderrNothing) {
  RedirectedStderr err(Reader::Pipe);
  std::string seen;
  set_log_sink(&capture, &seen);
  log_warning("raw\tmessage\n");
  set_log_sink(nullptr, nullptr);
  EXPECT_EQ(seen, "4 raw\tmessage\n|");
  EXPECT_EQ(err.read_available(), "");
}

}  // namespace
}  // namespace duende::supervisor
