// EventLoop: an exception from one callback is logged and the loop goes on (one operation
// failed, not the daemon: unwinding would take every child down); busy before_sleep
// rounds poll without sleeping.
#include "os/event_loop.hpp"

#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "os/log.hpp"

namespace duende::supervisor {
namespace {

std::vector<std::string>* g_lines = nullptr;

void capture(LogLevel, std::string_view message, void*) {
  if (g_lines) g_lines->emplace_back(message);
}

TEST(EventLoop, ACallbackThatThrowsIsLoggedAndTheLoopGoesOn) {
  std::vector<std::string> lines;
  g_lines = &lines;
  set_log_sink(capture, nullptr);
  EventLoop loop;
  const int fd = ::eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);  // readable at once
  ASSERT_GE(fd, 0);
  int throws = 0;
  loop.add(fd, EPOLLIN, [&](std::uint32_t) {
    std::uint64_t v;
    (void)!::read(fd, &v, sizeof v);
    ++throws;
    throw std::runtime_error("out of something");
  });
  int rounds = 0;
  FdTimer later(loop, [&] { loop.quit(7); });
  later.arm(std::chrono::milliseconds(20));
  const int code = loop.run([&] {
    ++rounds;
    if (rounds == 2) throw std::runtime_error("before_sleep failed");
    return false;
  });
  set_log_sink(nullptr, nullptr);
  g_lines = nullptr;
  ::close(fd);
  EXPECT_EQ(code, 7);
  EXPECT_EQ(throws, 1);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "event loop: out of something (that work is dropped; supervision goes on)");
  EXPECT_EQ(lines[1],
            "event loop: before_sleep failed (that work is dropped; supervision goes on)");
}

TEST(EventLoop, BusyBeforeSleepPollsWithoutSleeping) {
  EventLoop loop;
  int rounds = 0;
  FdTimer never(loop, [] {});
  never.arm(std::chrono::hours(1));  // nothing else would wake the loop
  loop.run([&] {
    if (++rounds == 50) loop.quit(0);
    return true;  // more work: poll, do not sleep
  });
  EXPECT_EQ(rounds, 50);
}

}  // namespace
}  // namespace duende::supervisor
