// inspect_io_flusher() of real processes: threads counted, flags read, names escaped,
// vanishing threads skipped, gone processes reported.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "duende/mlock.hpp"
#include "forked_child.hpp"
#include "proc_peek.hpp"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif

namespace duende::mlock {
namespace {

// Starts a thread in this (forked) process that sleeps until the process exits; returns
// its tid.
pid_t start_sleeping_thread() {
  std::atomic<pid_t> tid{0};
  std::thread([&tid] {
    tid = gettid();
    tid.notify_one();
    for (;;) pause();
  }).detach();
  tid.wait(0);
  return tid;
}

TEST(InspectIoFlusher, TestRunnerThreadsLackTheFlags) {
  const auto r = inspect_io_flusher(getpid());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->pid, getpid());
  EXPECT_EQ(r->threads, test::status_field(getpid(), "Threads").value_or(0));
  EXPECT_EQ(r->io_flusher_threads, 0u);
  EXPECT_FALSE(r->all_io_flushers());
  EXPECT_EQ(r->first_other_tid, getpid()) << "the main thread is listed first";
}

TEST(InspectIoFlusher, CountsThreadsOfAChildAndNamesItsMainThread) {
  test::ForkedChild child([] {
    // A name with ')' and a control byte: the stat line must be read after the last ')',
    // and the name must come back escaped.
    prctl(PR_SET_NAME, "a) b\001c", 0, 0, 0);
    for (int i = 0; i < 3; ++i) start_sleeping_thread();
    return std::string("ok");
  });
  ASSERT_EQ(child.message(), "ok");
  const auto r = inspect_io_flusher(child.pid());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->threads, 4u);
  EXPECT_EQ(r->io_flusher_threads, 0u);
  EXPECT_EQ(r->first_other_tid, child.pid());
  EXPECT_EQ(r->first_other_comm, "a) b\\x01c");
}

TEST(InspectIoFlusher, SeesTheFlagsPrSetIoFlusherSets) {
  test::ForkedChild child([] {
    const pid_t before = start_sleeping_thread();  // started before: no flags
    if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) != 0)
      return std::string("skip: prctl(PR_SET_IO_FLUSHER, 1) failed: ") + std::strerror(errno) +
             " (needs CAP_SYS_RESOURCE)";
    start_sleeping_thread();  // started after: inherits them
    return std::to_string(before);
  });
  const std::string message = child.message();
  if (message.starts_with("skip: ")) GTEST_SKIP() << message.substr(6);
  const auto r = inspect_io_flusher(child.pid());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->threads, 3u);
  EXPECT_EQ(r->io_flusher_threads, 2u) << "the main thread and the one started after prctl()";
  EXPECT_EQ(std::to_string(r->first_other_tid), message);
}

TEST(InspectIoFlusher, ThreadsExitingMeanwhileAreNoError) {
  test::ForkedChild child([] {
    std::thread([] {
      for (;;) std::thread([] {}).join();
    }).detach();
    return std::string("ok");
  });
  ASSERT_EQ(child.message(), "ok");
  for (int i = 0; i < 2000; ++i) {
    const auto r = inspect_io_flusher(child.pid());
    ASSERT_TRUE(r) << "round " << i << ": " << r.error().message;
    ASSERT_GE(r->threads, 2u);
    ASSERT_LE(r->threads, 3u);
  }
}

TEST(InspectIoFlusher, VanishedProcessIsEsrch) {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  const auto r = inspect_io_flusher(pid);
  ASSERT_FALSE(r) << "threads " << r->threads;
  EXPECT_EQ(r.error().error_number, ESRCH);
  EXPECT_EQ(r.error().message, "pid " + std::to_string(pid) + ": no such process");
}

TEST(InspectIoFlusher, ZombieIsEsrch) {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  siginfo_t info{};
  waitid(P_PID, pid, &info, WEXITED | WNOWAIT);  // exited, not reaped: a zombie
  const auto r = inspect_io_flusher(pid);
  waitpid(pid, nullptr, 0);
  ASSERT_FALSE(r) << "threads " << r->threads;
  EXPECT_EQ(r.error().error_number, ESRCH);
  EXPECT_NE(r.error().message.find("zombie"), std::string::npos) << r.error().message;
}

TEST(InspectIoFlusher, InvalidPidIsEinval) {
  for (pid_t pid : {0, -1}) {
    const auto r = inspect_io_flusher(pid);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().error_number, EINVAL);
  }
}

TEST(InspectIoFlusher, KernelThreadIsEinval) {
  const auto kthread = test::status_field(2, "Kthread");
  if (!kthread || *kthread != 1) GTEST_SKIP() << "pid 2 is not a visible kernel thread here";
  const auto r = inspect_io_flusher(2);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().error_number, EINVAL);
  EXPECT_EQ(r.error().message, "pid 2: a kernel thread, not a user process");
}

}  // namespace
}  // namespace duende::mlock
