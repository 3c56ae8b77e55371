// spawn_process against the real kernel: limits, oom_score_adj (and the warnings when they
// cannot be applied in full), credentials, ambient CAP_IPC_LOCK, and spawning from a
// locked caller.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "spawn_test_support.hpp"

namespace duende::supervisor::spawn_test {
namespace {

TEST(SpawnProcess, SetsMemlockLimitForChildOnly) {
  const std::string ours = memlock_line(getpid());
  SpawnRequest request = sleeper();
  request.memlock_limit = 65536;
  auto result = spawn_process(request);
  ASSERT_TRUE(result) << result.error().message();
  Child child(*result);
  EXPECT_EQ(memlock_line(child.pid()), "Max locked memory 65536 65536 bytes");
  EXPECT_EQ(memlock_line(getpid()), ours);
}

// The hard RLIMIT_MEMLOCK the forked tests below set (lowering needs no privilege): the
// current one, or 8 MiB when that is unlimited.
rlim_t test_hard_memlock() {
  rlimit ours{};
  EXPECT_EQ(getrlimit(RLIMIT_MEMLOCK, &ours), 0);
  return ours.rlim_max == RLIM_INFINITY ? rlim_t{8} << 20 : ours.rlim_max;
}

// In a forked test process: RLIMIT_MEMLOCK soft below hard = `hard`, and CAP_SYS_RESOURCE
// gone, after pinning oom_score_adj's floor at its current value (a privileged write sets
// it), so raising the memlock hard limit and lowering oom_score_adj are both refused.
std::string without_cap_sys_resource(rlim_t hard) {
  const std::string adj = read_file("/proc/self/oom_score_adj");
  if (const int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC); fd >= 0) {
    (void)!write(fd, adj.data(), adj.size());
    close(fd);
  }
  const rlimit limit{hard / 2, hard};
  if (setrlimit(RLIMIT_MEMLOCK, &limit) != 0) return "setrlimit failed";
  if (!test::drop_capability(CAP_SYS_RESOURCE)) return "cannot drop CAP_SYS_RESOURCE";
  return "";
}

// The warning goes back to the caller (which logs it), never to the child's stderr.
TEST(SpawnProcess, FallsBackToHardMemlockLimitAndReportsItWithoutCapSysResource) {
  const rlim_t hard = test_hard_memlock();
  test::ForkedChild forked([hard] {
    if (std::string problem = without_cap_sys_resource(hard); !problem.empty()) return problem;
    Pipe err;
    SpawnRequest request = sleeper();
    request.memlock_limit = RLIM_INFINITY;
    request.stderr_fd = err.fds[1];
    auto result = spawn_process(request);
    if (!result) return result.error().message();
    Child child(*result);
    return memlock_line(child.pid()) + "|" + joined(result->warnings) + "|" + err.read_available();
  });
  const std::string h = std::to_string(hard);
  EXPECT_EQ(forked.message(), "Max locked memory " + h + " " + h + " bytes|" +
                                  "cannot raise RLIMIT_MEMLOCK to infinity: Operation not "
                                  "permitted (needs CAP_SYS_RESOURCE); using the hard limit " +
                                  h + "\n|");
}

TEST(SpawnProcess, RaisesOomScoreAdjForChildOnly) {
  const std::string ours = read_file("/proc/self/oom_score_adj");
  SpawnRequest request = sleeper();
  request.oom_score_adj = 500;
  auto result = spawn_process(request);
  ASSERT_TRUE(result) << result.error().message();
  Child child(*result);
  EXPECT_EQ(read_file("/proc/" + std::to_string(child.pid()) + "/oom_score_adj"), "500\n");
  EXPECT_EQ(read_file("/proc/self/oom_score_adj"), ours);
}

TEST(SpawnProcess, StartsAndReportsItWhenLoweringOomScoreAdjIsRefused) {
  test::ForkedChild forked([] {
    if (std::string problem = without_cap_sys_resource(test_hard_memlock()); !problem.empty())
      return problem;
    const std::string ours = read_file("/proc/self/oom_score_adj");
    Pipe err;
    SpawnRequest request = sleeper();
    request.oom_score_adj = -1000;
    request.stderr_fd = err.fds[1];
    auto result = spawn_process(request);
    if (!result) return result.error().message();
    Child child(*result);
    const std::string adj = read_file("/proc/" + std::to_string(child.pid()) + "/oom_score_adj");
    return std::string(adj == ours ? "inherited" : "changed to " + adj) + "|" +
           joined(result->warnings) + "|" + err.read_available();
  });
  EXPECT_EQ(forked.message(),
            "inherited|cannot set oom_score_adj -1000: Permission denied (needs "
            "CAP_SYS_RESOURCE)\n|");
}

// Before execve() the caller is suspended (CLONE_VFORK): a child writing its warnings to a
// full pipe would keep it so. The deadline: a thread that, if the spawn has not returned
// after 20 s, says so and reads the pipe to let the child go on.
TEST(SpawnProcess, StartsWithWarningsWhileItsStderrPipeIsFull) {
  test::ForkedChild forked([] {
    if (std::string problem = without_cap_sys_resource(test_hard_memlock()); !problem.empty())
      return problem;
    Pipe err;
    // Filled through a non-blocking description of its own: the child's stays blocking.
    const int filler =
        open(("/proc/self/fd/" + std::to_string(err.fds[1])).c_str(), O_WRONLY | O_NONBLOCK);
    if (filler < 0) return std::string("cannot open the pipe again");
    const std::string chunk(4096, 'f');
    for (std::size_t size = chunk.size(); size > 0; size /= 2)
      while (write(filler, chunk.data(), size) > 0) {
      }
    close(filler);
    std::mutex mutex;
    std::condition_variable returned;
    bool done = false;
    bool late = false;
    std::thread deadline([&] {
      std::unique_lock lock(mutex);
      if (returned.wait_for(lock, std::chrono::seconds(20), [&] { return done; })) return;
      late = true;
      while (!done) {
        lock.unlock();
        pollfd readable{err.fds[0], POLLIN, 0};
        if (poll(&readable, 1, 100) > 0) err.read_available();
        lock.lock();
      }
    });
    SpawnRequest request = sleeper();
    request.memlock_limit = RLIM_INFINITY;
    request.oom_score_adj = -1000;
    request.stderr_fd = err.fds[1];
    auto result = spawn_process(request);
    {
      const std::lock_guard lock(mutex);
      done = true;
    }
    returned.notify_one();
    deadline.join();
    if (!result) return result.error().message();
    Child child(*result);
    return "started with " + std::to_string(result->warnings.size()) + " warnings" +
           (late ? " after the deadline" : "");
  });
  EXPECT_EQ(forked.message(), "started with 2 warnings");
}

TEST(SpawnProcess, SetsNofileLimitForChildOnly) {
  rlimit ours{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &ours), 0);
  if (ours.rlim_max < 512) GTEST_SKIP() << "the hard RLIMIT_NOFILE is below 512 here";
  const std::string our_line = limits_line(getpid(), "Max open files");
  SpawnRequest request = sleeper();
  request.nofile_limit = rlimit{256, 512};
  auto result = spawn_process(request);
  ASSERT_TRUE(result) << result.error().message();
  Child child(*result);
  EXPECT_EQ(limits_line(child.pid(), "Max open files"), "Max open files 256 512 files");
  EXPECT_EQ(limits_line(getpid(), "Max open files"), our_line);
  EXPECT_TRUE(result->warnings.empty()) << joined(result->warnings);
}

TEST(SpawnProcess, ReportsARefusedNofileLimit) {
  SpawnRequest request = sleeper();
  request.nofile_limit = rlimit{512, 256};  // soft above hard
  auto inverted = spawn_process(request);
  ASSERT_FALSE(inverted);
  EXPECT_EQ(inverted.error().message(), "setrlimit RLIMIT_NOFILE: Invalid argument");
  EXPECT_FALSE(has_children());

  // Raising the hard limit needs CAP_SYS_RESOURCE.
  test::ForkedChild forked([] {
    rlimit ours{};
    if (getrlimit(RLIMIT_NOFILE, &ours) != 0) return std::string("getrlimit failed");
    if (!test::drop_capability(CAP_SYS_RESOURCE)) return std::string("cannot drop capability");
    SpawnRequest raise = sleeper();
    raise.nofile_limit = rlimit{ours.rlim_cur, ours.rlim_max + 1};
    auto result = spawn_process(raise);
    if (result) return std::string("spawned");
    return result.error().message() + (has_children() ? " (child left)" : "");
  });
  EXPECT_EQ(forked.message(), "setrlimit RLIMIT_NOFILE: Operation not permitted");
}

TEST(SpawnProcess, AppliesUidGidAndGroupsAsRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_SETUID, CAP_SETGID)";
  SpawnRequest request = sleeper();
  request.uid = kNobody;
  request.gid = kNobody;
  request.supplementary_groups = {kNobody};
  auto result = spawn_process(request);
  ASSERT_TRUE(result) << result.error().message();
  Child child(*result);
  EXPECT_EQ(status_text(child.pid(), "Uid"), "65534\t65534\t65534\t65534");
  EXPECT_EQ(status_text(child.pid(), "Gid"), "65534\t65534\t65534\t65534");
  EXPECT_EQ(status_text(child.pid(), "Groups"), "65534");
  EXPECT_EQ(status_text(child.pid(), "CapEff"), "0000000000000000");
  EXPECT_EQ(status_text(child.pid(), "CapAmb"), "0000000000000000");
}

TEST(SpawnProcess, GivesNonRootChildAmbientIpcLockOnly) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_SETUID, CAP_SETGID)";
  SpawnRequest request = sleeper();
  request.uid = kNobody;
  request.gid = kNobody;
  request.ambient_ipc_lock = true;
  auto result = spawn_process(request);
  ASSERT_TRUE(result) << result.error().message();
  Child child(*result);
  EXPECT_EQ(status_text(child.pid(), "Uid"), "65534\t65534\t65534\t65534");
  for (const char* set : {"CapAmb", "CapEff", "CapPrm"})
    EXPECT_EQ(status_text(child.pid(), set), "0000000000004000") << set;  // bit 14
}

// Perl's syscall() makes the raw mlockall(MCL_CURRENT | MCL_FUTURE) in an unlinked program.
std::string lock_and_sleep_script() {
  return "$| = 1; my $r = syscall(" + std::to_string(SYS_mlockall) +
         ", 3); print($r == 0 ? \"locked\\n\" : \"failed $!\\n\"); sleep 30;";
}

TEST(SpawnProcess, AmbientIpcLockLetsNonRootChildLockBeyondItsLimit) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_SETUID, CAP_SETGID)";
  if (access("/usr/bin/perl", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/perl";
  for (const bool ambient : {true, false}) {
    Pipe out;
    SpawnRequest request = request_for({"/usr/bin/perl", "-e", lock_and_sleep_script()});
    request.uid = kNobody;
    request.gid = kNobody;
    request.memlock_limit = 65536;
    request.ambient_ipc_lock = ambient;
    request.stdout_fd = out.fds[1];
    auto result = spawn_process(request);
    ASSERT_TRUE(result) << result.error().message();
    Child child(*result);
    out.close_write();
    char line[64] = {};
    ASSERT_GT(read(out.fds[0], line, sizeof line - 1), 0);
    if (ambient) {
      EXPECT_STREQ(line, "locked\n");
      EXPECT_GT(test::vm_lck(child.pid()), 65536u);
    } else {
      EXPECT_STREQ(line, "failed Cannot allocate memory\n");
      EXPECT_EQ(test::vm_lck(child.pid()), 0u);
    }
  }
}

// The supervisor's situation: the caller is mlockall()ed with MCL_FUTURE. A forked copy of
// the test runner locks itself (the runner must not), spawns, and reports.
TEST(SpawnProcess, WorksFromLockedCaller) {
  DUENDE_REQUIRE_LOCKING();
  test::ForkedChild locked([] {
    if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) return std::string("mlockall failed");
    const std::uint64_t before = test::vm_lck(getpid());
    Pipe out;
    SpawnRequest request = request_for({"/bin/sh", "-c", "grep VmLck /proc/self/status"});
    request.stdout_fd = out.fds[1];
    auto result = spawn_process(request);
    if (!result) return result.error().message();
    Child child(*result);
    const std::string text = out.read_all();
    const int code = child.wait();
    const std::uint64_t after = test::vm_lck(getpid());
    return text + "exit " + std::to_string(code) + (after == before ? " same" : " changed");
  });
  EXPECT_EQ(locked.message(), "VmLck:\t       0 kB\nexit 0 same");
}

// A step after setuid() fails in the child and is reported with its errno. Runs in a forked
// process that drops the capability first, so the test runner keeps its own.
TEST(SpawnProcess, ReportsFailedPrivilegeStepsAsRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (to drop capabilities it has)";
  struct Case {
    int dropped;
    bool ambient;
    const char* message;
  };
  for (const Case& c : {Case{CAP_SETUID, false, "setuid 65534: Operation not permitted"},
                        Case{CAP_SETGID, false, "setgroups: Operation not permitted"},
                        Case{CAP_IPC_LOCK, true, "capset CAP_IPC_LOCK: Operation not permitted"}}) {
    test::ForkedChild forked([&c] {
      if (!test::drop_capability(c.dropped)) return std::string("cannot drop capability");
      SpawnRequest request = sleeper();
      request.uid = kNobody;
      request.ambient_ipc_lock = c.ambient;
      auto result = spawn_process(request);
      if (result) return std::string("spawned");
      return result.error().message() + (has_children() ? " (child left)" : "");
    });
    EXPECT_EQ(forked.message(), c.message);
  }
}

}  // namespace
}  // namespace duende::supervisor::spawn_test
