// One supervisor per runtime directory: a second one refuses to start (exit 75) and
// touches nothing of the first, whose children keep reaching it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "supervisor_harness.hpp"

namespace duende::itest {
namespace {

ino_t inode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST(SupervisorInstance, SecondSupervisorOnTheSameRuntimeDirectoryRefusesAndTouchesNothing) {
  Harness h;
  h.config["children"]["worker"] = unlocked_child({"--ready"}, "notify");
  h.start();
  ASSERT_TRUE(h.wait_for_log("worker: ready"));
  const ino_t socket = inode_of(h.children_socket());
  ASSERT_NE(socket, 0u);

  const RunResult second = h.run_cli({"--config", h.config_file(), "--config-dir", h.dropin_dir()});
  EXPECT_EQ(second.exit_code, 75) << second.err;  // EX_TEMPFAIL
  EXPECT_NE(second.err.find("another mlock-supervisor (pid " + std::to_string(h.pid()) +
                            ") runs on " + h.runtime_dir()),
            std::string::npos)
      << second.err;
  EXPECT_EQ(second.err.find("worker: started"), std::string::npos) << "it started a child";
  EXPECT_EQ(inode_of(h.children_socket()), socket) << "the notify socket was replaced";

  // The first supervisor's notify socket still works: a restarted child's READY=1 reaches it.
  const pid_t worker = h.wait_child_pid("worker");
  ASSERT_GT(worker, 0);
  ASSERT_EQ(::kill(worker, SIGKILL), 0);
  EXPECT_TRUE(h.wait_for_log("worker: ready", 2));
  EXPECT_EQ(h.stop(), 0);
}

// The lock, seen from outside with flock(2): held while the supervisor runs, released by
// the kernel however it ends, even by SIGKILL (no stale lock to clean up by hand).
bool lock_is_free(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  const bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);
  return free;
}

TEST(SupervisorInstance, TheLockIsHeldWhileRunningAndFreeAfterASigkill) {
  Harness h;
  h.start();
  ASSERT_GE(h.wait_for_notification("READY=1"), 0);
  const std::string lock = h.runtime_dir() + "/lock";
  EXPECT_FALSE(lock_is_free(lock));
  h.send_signal(SIGKILL);
  EXPECT_EQ(h.wait_exit(), -SIGKILL);
  EXPECT_TRUE(lock_is_free(lock));
}

}  // namespace
}  // namespace duende::itest
