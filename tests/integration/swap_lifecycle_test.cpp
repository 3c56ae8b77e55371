// The swap a child backs, with the real daemon and the real util-linux tools: a swap FILE
// this test makes (swap is host-wide: only that file is ever turned on or off here) goes
// on once the child is ready and locked, and off before the child is stopped. The child
// does not really serve the file, so a death with the swap on hangs nothing here.
//
// Not tested for real: a swapoff that fails (not enough memory to take the pages back
// cannot be arranged safely on a shared host); the core's unit tests cover the refusal.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include "privilege.hpp"
#include "supervisor_harness.hpp"
#include "swap_file.hpp"

namespace duende::itest {
namespace {

TEST(SwapLifecycleIntegration, OnOnceLockedAndOffBeforeTheStop) {
  DUENDE_REQUIRE_SWAP();
  Harness h;
  SwapFile file;  // destroyed first: swapoff before the daemon is stopped
  h.config["children"]["backend"] = swap_backend(file.path());
  h.start();
  ASSERT_TRUE(h.wait_for_log("backend: swap on " + file.path() + " is on"));
  const std::string line = swaps_line(file.path());
  ASSERT_FALSE(line.empty());
  EXPECT_NE(line.find("file"), std::string::npos) << line;
  std::istringstream fields(line);
  std::string path, type, size, used, priority;
  fields >> path >> type >> size >> used >> priority;
  EXPECT_EQ(priority, "7") << line;
  EXPECT_LT(h.line_index("backend: ready"), h.line_index("turning swap on"));

  h.send_signal(SIGTERM);
  ASSERT_EQ(h.wait_exit(), 0);
  EXPECT_TRUE(swaps_line(file.path()).empty());
  const int off = h.line_index("backend: swap on " + file.path() + " is off");
  ASSERT_GE(off, 0);
  EXPECT_LT(off, h.line_index("backend: stopped"));
}

TEST(SwapLifecycleIntegration, DeathWithSwapOnIsCriticalAndRestartsAtOnce) {
  DUENDE_REQUIRE_SWAP();
  Harness h;
  SwapFile file;
  Json c = swap_backend(file.path());
  c["restart"] = "on-failure";
  c["restart_sec"] = 30;  // the backoff a death with swap on skips
  c["restart_max_sec"] = 30;
  h.config["children"]["backend"] = c;
  h.start();
  ASSERT_TRUE(h.wait_for_log("backend: swap on " + file.path() + " is on"));
  const pid_t first = h.child_pids("backend").at(0);
  ::kill(first, SIGKILL);
  ASSERT_TRUE(h.wait_for_log("backend died with swap on " + file.path()));
  const pid_t second = h.wait_child_pid("backend", 2);
  EXPECT_GT(second, 0);
  EXPECT_NE(second, first);
  // The kernel still has it on: taken as the new process's, never a second swapon.
  EXPECT_TRUE(h.wait_for_log("swap on " + file.path() + " is already active"));
  EXPECT_FALSE(swaps_line(file.path()).empty());
}

}  // namespace
}  // namespace duende::itest
