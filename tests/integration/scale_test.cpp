// Many children at once: every lock report must reach the supervisor even when they all
// arrive while it is busy starting the others (its socket queue holds only
// net.unix.max_dgram_qlen datagrams; the library waits for room instead of dropping).
#include <gtest/gtest.h>

#include <string>

#include "privilege.hpp"
#include "proc_peek.hpp"
#include "supervisor_harness.hpp"

namespace duende::itest {
namespace {

TEST(SupervisorScale, SixtyChildrenAllReportLockedAndTheDaemonStaysOneThread) {
  DUENDE_SKIP_IF_SANITIZED("ASan intercepts mlockall() as a no-op: no child ever locks");
  constexpr int kChildren = 60;
  Harness h;
  for (int i = 0; i < kChildren; ++i) {
    Json child = test_child({"--lock", "--sleep-forever"});
    child["start_timeout_sec"] = 60;
    h.config["children"]["c" + std::to_string(i)] = child;
  }
  h.start();
  ASSERT_TRUE(h.wait_for_log(": ready, locked (", kChildren));
  ASSERT_TRUE(h.wait_for_status(std::to_string(kChildren) + "/" + std::to_string(kChildren) +
                                " children locked"));
  EXPECT_EQ(h.count("failed to start"), 0);
  EXPECT_EQ(test::status_field(h.pid(), "Threads"), 1u);
  for (int i = 0; i < kChildren; ++i) {
    const pid_t pid = h.wait_child_pid("c" + std::to_string(i));
    EXPECT_GT(test::vm_lck(pid), 0u) << "c" << i;
  }
}

}  // namespace
}  // namespace duende::itest
