// IO_FLUSHER as the kernel shows it: a child whose mlock asks io_flusher is verified thread
// by thread (/proc/PID/task/TID/stat). PR_SET_IO_FLUSHER needs CAP_SYS_RESOURCE, which
// root on the development machines lacks: there the best-effort request fails, the child
// still locks, and the supervisor calls it trouble, naming the thread; a required one
// fails the start with a reason that names the prctl. With the capability (CI's root),
// the flags are there and nothing is wrong.
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <unistd.h>

#include <string>

#include "privilege.hpp"
#include "supervisor_harness.hpp"

namespace duende::itest {
namespace {

// The preload shim locks with the child's mlock config (io_flusher included) from the
// environment the supervisor gives it.
Json flusher_child(bool required) {
  Json c = test_child({});
  c["preload"] = true;
  c["restart"] = "no";
  c["mlock"] = {{"io_flusher", true}, {"required", required}};
  return c;
}

TEST(SupervisorIoFlusher, ABestEffortFlusherWithoutTheFlagsIsLockedButInTrouble) {
  DUENDE_SKIP_IF_SANITIZED("the shim cannot load into a program without the ASan runtime");
  Harness h;
  h.config["children"]["nbd"] = flusher_child(false);
  h.start();
  const pid_t pid = h.wait_child_pid("nbd");
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(h.wait_for_log("nbd: ready, locked ("));
  if (test::has_capability(CAP_SYS_RESOURCE)) {  // the prctl succeeded: every thread has it
    EXPECT_TRUE(h.wait_for_status("1/1 children locked, 1 running"));
    EXPECT_EQ(h.count("nbd: lacks IO_FLUSHER"), 0);
    return;
  }
  // One thread, the main one, named by tid and comm.
  const std::string line =
      "nbd: lacks IO_FLUSHER (PF_MEMALLOC_NOIO|PF_LOCAL_THROTTLE; "
      "PR_SET_IO_FLUSHER needs CAP_SYS_RESOURCE): 1 of 1 threads without "
      "it, first pid " +
      std::to_string(pid) + " thread " + std::to_string(pid) + " (mlock-test-chil)";
  ASSERT_TRUE(h.wait_for_log(line));
  EXPECT_TRUE(h.wait_for_status("degraded: nbd lacks IO_FLUSHER"));
  EXPECT_TRUE(process_alive(pid)) << "on_lock_lost warn keeps it running";
  EXPECT_EQ(h.count("nbd: lost its lock"), 0) << "its lock is fine";
}

TEST(SupervisorIoFlusher, ARequiredFlusherTheKernelRefusesFailsTheStartNamingThePrctl) {
  DUENDE_SKIP_IF_SANITIZED("the shim cannot load into a program without the ASan runtime");
  if (test::has_capability(CAP_SYS_RESOURCE))
    GTEST_SKIP() << "with CAP_SYS_RESOURCE the kernel does not refuse PR_SET_IO_FLUSHER";
  Harness h;
  h.config["children"]["nbd"] = flusher_child(true);
  h.start();
  ASSERT_GT(h.wait_child_pid("nbd"), 0);
  // Whether /proc still shows the process when its report is read (it exits 71 at once)
  // decides between the two wordings; both name the prctl and the capability.
  ASSERT_TRUE(h.wait_for_log("nbd: failed to start: lock: PR_SET_IO_FLUSHER"));
  EXPECT_EQ(h.count("needs CAP_SYS_RESOURCE"), 1);
  EXPECT_TRUE(h.wait_for_status("degraded: nbd failed: lock: PR_SET_IO_FLUSHER"));
}

}  // namespace
}  // namespace duende::itest
