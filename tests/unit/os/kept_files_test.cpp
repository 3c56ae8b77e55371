// The monitor's kept files: read again with pread() at offset 0 they give fresh text, a
// file of a process that is gone fails instead of naming another, and the allowance bounds
// how many descriptors are held.
#include "os/kept_files.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace duende::supervisor {
namespace {

std::string status_path(pid_t pid) { return "/proc/" + std::to_string(pid) + "/status"; }

TEST(KeptFiles, ReadsAFreshTextEachTimeFromOneKeptDescriptor) {
  KeptFiles files;
  files.set_allowance(4);
  const auto first = files.read("/proc/self/stat", 4096);
  ASSERT_TRUE(first) << first.error();
  const std::string before(*first);
  EXPECT_EQ(files.kept(), 1u);
  // A second read() of one descriptor would be at its end (0 bytes): pread() at 0 gives
  // the whole text again.
  const auto second = files.read("/proc/self/stat", 4096);
  ASSERT_TRUE(second) << second.error();
  EXPECT_EQ(second->substr(0, second->find(' ')), before.substr(0, before.find(' ')));
  EXPECT_GT(second->size(), 50u);
  EXPECT_EQ(files.kept(), 1u);
}

TEST(KeptFiles, AProcessGoneIsAnErrorNeverItsOldText) {
  KeptFiles files;
  files.set_allowance(4);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::pause();
    ::_exit(0);
  }
  ASSERT_TRUE(files.read(status_path(pid), 65536));
  EXPECT_EQ(files.kept(), 1u);
  ::kill(pid, SIGKILL);
  ASSERT_EQ(::waitpid(pid, nullptr, 0), pid);
  const auto gone = files.read(status_path(pid), 65536);
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error() == ESRCH || gone.error() == ENOENT) << gone.error();
  EXPECT_EQ(files.kept(), 0u);  // closed, not held for a number another process may get
}

TEST(KeptFiles, KeepsNoMoreThanTheAllowanceAndReadsTheRestOnce) {
  KeptFiles files;
  files.set_allowance(1);
  ASSERT_TRUE(files.read("/proc/self/status", 65536));
  ASSERT_TRUE(files.read("/proc/self/stat", 4096));  // read, not kept
  EXPECT_EQ(files.kept(), 1u);
  files.set_allowance(0);  // less than held: all closed
  EXPECT_EQ(files.kept(), 0u);
  ASSERT_TRUE(files.read("/proc/self/status", 65536));
  EXPECT_EQ(files.kept(), 0u);
}

TEST(KeptFiles, CutsTextAtItsBoundAndForgetsOnRequest) {
  KeptFiles files;
  files.set_allowance(2);
  const auto cut = files.read("/proc/self/status", 10);
  ASSERT_TRUE(cut);
  EXPECT_EQ(cut->size(), 10u);
  EXPECT_EQ(std::string(*cut), "Name:\tos_t");
  files.forget("/proc/self/status");
  EXPECT_EQ(files.kept(), 0u);
  const auto missing = files.read("/nonexistent/cgroup.procs", 100);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), ENOENT);
}

}  // namespace
}  // namespace duende::supervisor
