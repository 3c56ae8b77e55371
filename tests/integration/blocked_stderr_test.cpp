// The daemon's stderr on a FIFO whose reader has stopped reading (journald under memory
// pressure, a stopped reader): supervision must go on. Children keep being restarted,
// WATCHDOG=1 keeps coming at its period, and once the FIFO is read again the lines the
// daemon could keep come out, followed by how many it had to drop.
//
// Nothing here reads the daemon's log while it is blocked: progress is seen through the
// children's pid file and the sd_notify datagrams. Counts are compared with what the
// configured periods allow (ratios), never with durations.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <string>

#include "supervisor_harness.hpp"

namespace duende::itest {
namespace {

using Clock = std::chrono::steady_clock;

constexpr long kWatchdogUsec = 200000;  // keep-alive every 100 ms
constexpr double kKeepAliveSec = kWatchdogUsec / 2 / 1e6;
constexpr const char* kDropped = "lines dropped while stderr was not accepting";

int count_notifications(Harness& h, const std::string& needle) {
  int n = 0;
  for (const auto& note : h.notifications())
    if (note.text.find(needle) != std::string::npos) ++n;
  return n;
}

// Fills the FIFO until it takes no more, through a non-blocking description of our own;
// newlines only, so the log's lines stay lines. Returns how many bytes.
std::size_t fill_fifo(const std::string& fifo) {
  const int fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return 0;
  const std::string chunk(4096, '\n');
  std::size_t total = 0;
  for (std::size_t size = chunk.size(); size > 0; size /= 2) {
    ssize_t n;
    while ((n = write(fd, chunk.data(), size)) > 0) total += static_cast<std::size_t>(n);
  }
  close(fd);
  return total;
}

// The flags of the daemon's fd 2 description, from /proc/PID/fdinfo/2 (octal).
long stderr_flags(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/fdinfo/2");
  std::string key;
  std::string value;
  while (in >> key >> value)
    if (key == "flags:") return std::stol(value, nullptr, 8);
  return -1;
}

TEST(BlockedStderr, SupervisionAndWatchdogGoOnWhileNobodyReadsTheLog) {
  Harness h;
  const std::string pid_file = h.path("bouncer.pid");
  Json bouncer = unlocked_child({"--write-pid", pid_file, "--exit-after-ms", "100"}, "exec");
  bouncer["restart"] = "always";
  bouncer["restart_sec"] = 0.05;
  bouncer["restart_max_sec"] = 0.05;
  bouncer["start_limit_burst"] = 1000000;
  h.config["children"]["bouncer"] = bouncer;
  // A child that never starts, with a ~4 KiB reason each time: enough lines to overflow
  // the daemon's 64 KiB buffer within a few of the bouncer's restarts.
  Json noisy = unlocked_child({}, "exec");
  noisy["exec"] = {"/nonexistent/" + std::string(3900, 'n')};
  noisy["restart"] = "always";
  noisy["restart_sec"] = 0.05;
  noisy["restart_max_sec"] = 0.05;
  noisy["start_limit_burst"] = 1000000;
  h.config["children"]["noisy"] = noisy;

  const std::string fifo = h.path("stderr.fifo");
  Harness::Launch launch;
  launch.watchdog_usec = kWatchdogUsec;
  launch.stderr_fifo = fifo;
  h.start(launch);
  ASSERT_GT(fill_fifo(fifo), 0u);
  ASSERT_GE(h.wait_for_notification("WATCHDOG=1"), 0) << "no keep-alive at all";

  // Blocked: nobody reads the FIFO. The bouncer's 20 processes take 3 s at its pace; the
  // deadline only guards against a daemon that stopped.
  const auto blocked_since = Clock::now();
  const int watchdogs_before = count_notifications(h, "WATCHDOG=1");
  std::set<pid_t> pids;
  const bool restarted = h.wait_until(
      [&] {
        if (const pid_t pid = read_pid(pid_file); pid > 0) pids.insert(pid);
        return pids.size() >= 20;
      },
      std::chrono::seconds(60));
  const double blocked_sec = std::chrono::duration<double>(Clock::now() - blocked_since).count();
  const int watchdogs = count_notifications(h, "WATCHDOG=1") - watchdogs_before;
  EXPECT_TRUE(restarted) << "only " << pids.size() << " bouncer processes in " << blocked_sec
                         << " s while stderr was blocked";
  EXPECT_FALSE(h.wait_exit(std::chrono::milliseconds(0)).has_value()) << "the daemon exited";
  // Keep-alives at a quarter of their period or better: systemd would have seen them.
  EXPECT_GE(watchdogs, static_cast<int>(blocked_sec / kKeepAliveSec / 4))
      << watchdogs << " WATCHDOG=1 in " << blocked_sec << " s";
  // The daemon's own stderr stayed blocking (children may share it).
  const long flags = stderr_flags(h.pid());
  ASSERT_GE(flags, 0);
  EXPECT_EQ(flags & O_NONBLOCK, 0) << "fd 2 flags " << std::oct << flags;
  EXPECT_EQ(h.count(": started, pid "), 0) << "the test read the FIFO too early";

  // Read again: the kept lines come out, then the count of the dropped ones, then new lines.
  ASSERT_TRUE(h.wait_until([&] {
    h.read_stderr_fifo();
    return h.count(kDropped) >= 1 &&
           h.line_index("bouncer: started", h.count("bouncer: started")) > h.line_index(kDropped);
  })) << "no \""
      << kDropped << "\" line followed by new ones";
  const int dropped_at = h.line_index(kDropped);
  const std::string dropped_line = h.daemon_lines()[dropped_at];
  EXPECT_EQ(dropped_line.rfind("<4>log: ", 0), 0u) << dropped_line;
  const auto dropped = number_after(dropped_line, "<4>log: ");
  ASSERT_TRUE(dropped) << dropped_line;
  EXPECT_GT(*dropped, 0);
  EXPECT_EQ(h.count(kDropped), 1);
  // The first lines of the daemon were kept, in order, before the drop.
  const int starting = h.line_index("starting 2 children");
  EXPECT_GE(starting, 0);
  EXPECT_LT(starting, dropped_at);
  EXPECT_LT(h.line_index("bouncer: started"), dropped_at);

  EXPECT_EQ(h.stop(), 0);
}

}  // namespace
}  // namespace duende::itest
