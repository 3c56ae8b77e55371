// KernelSystem, the OS seam over the real kernel: the one wake-up timerfd (absolute
// deadlines, a past one fires at once, max() cancels), spawned processes watched by the
// loop and reaped once, release() killing what still runs, a start's warnings logged.
#include "os/kernel_system.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "forked_child.hpp"
#include "os/event_loop.hpp"
#include "os/log.hpp"
#include "privilege.hpp"

namespace duende::supervisor {
namespace {

using std::chrono::milliseconds;

// Runs `loop` until something quits it, or `deadline` passes (then returns false).
bool run_with_deadline(EventLoop& loop, Clock::duration deadline) {
  bool timed_out = false;
  FdTimer guard(loop, [&] {
    timed_out = true;
    loop.quit(1);
  });
  guard.arm(deadline);
  loop.run();
  return !timed_out;
}

SpawnRequest request(std::vector<std::string> argv) {
  SpawnRequest r;
  r.argv = std::move(argv);
  r.env = {"PATH=/usr/bin:/bin"};
  return r;
}

TEST(KernelSystemWakeUp, APastDeadlineFiresAtOnce) {
  EventLoop loop;
  KernelSystem system(loop);
  int wakeups = 0;
  system.set_wakeup_handler([&] {
    ++wakeups;
    loop.quit(0);
  });
  system.wake_at(system.now() - std::chrono::seconds(5));
  ASSERT_TRUE(run_with_deadline(loop, std::chrono::seconds(10)));
  EXPECT_EQ(wakeups, 1);
}

TEST(KernelSystemWakeUp, FiresNoEarlierThanAskedAndReplacesTheEarlierRequest) {
  EventLoop loop;
  KernelSystem system(loop);
  Clock::time_point fired{};
  system.set_wakeup_handler([&] {
    fired = system.now();
    loop.quit(0);
  });
  const Clock::time_point asked = system.now() + milliseconds(30);
  system.wake_at(system.now() + milliseconds(5));
  system.wake_at(asked);  // replaces the first
  ASSERT_TRUE(run_with_deadline(loop, std::chrono::seconds(10)));
  EXPECT_GE(fired, asked);
}

TEST(KernelSystemWakeUp, MaxCancels) {
  EventLoop loop;
  KernelSystem system(loop);
  int wakeups = 0;
  system.set_wakeup_handler([&] { ++wakeups; });
  system.wake_at(system.now() + milliseconds(1));
  system.wake_at(Clock::time_point::max());
  FdTimer done(loop, [&] { loop.quit(0); });
  done.arm(milliseconds(50));
  loop.run();
  EXPECT_EQ(wakeups, 0);
}

TEST(KernelSystemProcess, ExitIsSeenByTheLoopAndReapedOnce) {
  EventLoop loop;
  KernelSystem system(loop);
  int exits = 0;
  auto spawned = system.spawn(request({"/bin/sh", "-c", "exit 3"}), "kernel-system-test", [&] {
    ++exits;
    loop.quit(0);
  });
  ASSERT_TRUE(spawned) << spawned.error().message();
  ProcessHandle process = *spawned;
  ASSERT_TRUE(run_with_deadline(loop, std::chrono::seconds(30)));
  EXPECT_EQ(exits, 1);
  const std::optional<ExitStatus> status = system.reap(process);
  ASSERT_TRUE(status);
  EXPECT_FALSE(status->killed);
  EXPECT_EQ(status->code, 3);
  EXPECT_EQ(system.reap(process), std::nullopt) << "a second reap must find nothing";
  system.release(process, false);
  EXPECT_FALSE(process.valid());
}

TEST(KernelSystemProcess, ReleaseKillsAProcessStillRunning) {
  EventLoop loop;
  KernelSystem system(loop);
  auto spawned = system.spawn(request({"/bin/sleep", "1000"}), "kernel-system-test", [] {});
  ASSERT_TRUE(spawned) << spawned.error().message();
  ProcessHandle process = *spawned;
  const pid_t pid = process.pid;
  EXPECT_EQ(system.reap(process), std::nullopt);  // still running
  system.release(process, true);
  EXPECT_FALSE(process.valid());
  EXPECT_EQ(::kill(pid, 0), -1) << "pid " << pid << " still exists";
  EXPECT_EQ(errno, ESRCH);
}

TEST(KernelSystemProcess, SignalReachesTheProcessThroughItsHandle) {
  EventLoop loop;
  KernelSystem system(loop);
  auto spawned =
      system.spawn(request({"/bin/sleep", "1000"}), "kernel-system-test", [&] { loop.quit(0); });
  ASSERT_TRUE(spawned) << spawned.error().message();
  ProcessHandle process = *spawned;
  int group_error = -1;
  EXPECT_EQ(system.signal(process, SIGTERM, group_error), 0);
  EXPECT_EQ(group_error, 0);
  ASSERT_TRUE(run_with_deadline(loop, std::chrono::seconds(30)));
  const auto status = system.reap(process);
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->killed);
  EXPECT_EQ(status->code, SIGTERM);
  EXPECT_EQ(status->as_int(), -SIGTERM);
  system.release(process, false);
}

void capture(LogLevel level, std::string_view message, void* context) {
  static_cast<std::string*>(context)->append(std::to_string(static_cast<int>(level)) + " " +
                                             std::string(message) + "\n");
}

// spawn_process() hands the warnings back instead of writing them to the child's stderr;
// KernelSystem logs them, under the child's name.
TEST(KernelSystemProcess, LogsTheWarningsOfAStartUnderItsIdentifier) {
  test::ForkedChild forked([] {
    // Pin oom_score_adj's floor where it is (a privileged write does), then lose the right
    // to go below it.
    std::ifstream in("/proc/self/oom_score_adj");
    const std::string adj((std::istreambuf_iterator<char>(in)), {});
    if (const int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC); fd >= 0) {
      (void)!::write(fd, adj.data(), adj.size());
      ::close(fd);
    }
    if (!test::drop_capability(CAP_SYS_RESOURCE)) return std::string("cannot drop capability");
    std::string log;
    set_log_sink(&capture, &log);
    EventLoop loop;
    KernelSystem system(loop);
    SpawnRequest r = request({"/bin/sleep", "1000"});
    r.oom_score_adj = -1000;
    auto spawned = system.spawn(r, "kernel-system-test", [] {});
    set_log_sink(nullptr, nullptr);
    if (!spawned) return spawned.error().message();
    ProcessHandle process = *spawned;
    system.release(process, true);
    return log;
  });
  EXPECT_EQ(forked.message(),
            "4 kernel-system-test: cannot set oom_score_adj -1000: Permission denied (needs "
            "CAP_SYS_RESOURCE)\n");
}

}  // namespace
}  // namespace duende::supervisor
