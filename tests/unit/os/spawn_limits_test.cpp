// spawn_process against the real kernel: limits, oom_score_adj, credentials, ambient
// CAP_IPC_LOCK, and spawning from a locked caller.
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

TEST(SpawnProcess, FallsBackToHardMemlockLimitWithoutCapSysResource) {
  rlimit ours{};
  ASSERT_EQ(getrlimit(RLIMIT_MEMLOCK, &ours), 0);
  if (test::has_capability(CAP_SYS_RESOURCE) || ours.rlim_max == RLIM_INFINITY)
    GTEST_SKIP() << "the hard memlock limit can be raised here";
  Pipe err;
  SpawnRequest request = sleeper();
  request.memlock_limit = RLIM_INFINITY;
  request.stderr_fd = err.fds[1];
  auto result = spawn_process(request);
  ASSERT_TRUE(result) << result.error().message();
  Child child(*result);
  const std::string hard = std::to_string(ours.rlim_max);
  EXPECT_EQ(memlock_line(child.pid()), "Max locked memory " + hard + " " + hard + " bytes");
  EXPECT_EQ(err.read_available(),
            "mlock-supervisor: warning: cannot raise RLIMIT_MEMLOCK to infinity: Operation not "
            "permitted (needs CAP_SYS_RESOURCE); using the hard limit " +
                hard + "\n");
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

TEST(SpawnProcess, WarnsAndStartsWhenLoweringOomScoreAdjIsRefused) {
  if (test::has_capability(CAP_SYS_RESOURCE))
    GTEST_SKIP() << "CAP_SYS_RESOURCE present: lowering oom_score_adj is allowed";
  const std::string ours = read_file("/proc/self/oom_score_adj");
  Pipe err;
  SpawnRequest request = sleeper();
  request.oom_score_adj = -1000;
  request.stderr_fd = err.fds[1];
  auto result = spawn_process(request);
  ASSERT_TRUE(result) << result.error().message();
  Child child(*result);
  EXPECT_EQ(read_file("/proc/" + std::to_string(child.pid()) + "/oom_score_adj"), ours);
  EXPECT_EQ(err.read_available(),
            "mlock-supervisor: warning: cannot set oom_score_adj -1000: Permission denied "
            "(needs CAP_SYS_RESOURCE)\n");
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
