// spawn_process against the real kernel: real children, checked from outside through
// /proc/PID and through what they write to pipes. Basics: exec, errors, argv and
// environment, working directory, process group, signals, descriptors.
#include "spawn_test_support.hpp"

namespace duende::supervisor::spawn_test {
namespace {

TEST(SpawnProcess, ReturnsLivePidAndPidfdReadableAtExit) {
  auto result = spawn_process(sleeper());
  ASSERT_TRUE(result) << result.error().message();
  Child child(*result);
  EXPECT_EQ(fs::read_symlink("/proc/" + std::to_string(child.pid()) + "/exe"), "/usr/bin/sleep");
  pollfd p{child.pidfd(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 0), 0) << "pidfd readable while the child runs";
  ASSERT_EQ(syscall(SYS_pidfd_send_signal, child.pidfd(), SIGTERM, nullptr, 0), 0);
  EXPECT_EQ(poll(&p, 1, 5000), 1);
  EXPECT_EQ(child.wait(), -SIGTERM);
}

TEST(SpawnProcess, WaitidOnPidfdGivesExitCode) {
  auto result = spawn_process(request_for({"/bin/sh", "-c", "exit 7"}));
  ASSERT_TRUE(result) << result.error().message();
  Child child(*result);
  EXPECT_NE(fcntl(child.pidfd(), F_GETFD) & FD_CLOEXEC, 0);
  pollfd p{child.pidfd(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 5000), 1);
  EXPECT_EQ(child.wait(), 7);
}

TEST(SpawnProcess, ReportsMissingProgramAndLeavesNothingBehind) {
  const auto fds_before = open_fds("self");
  auto result = spawn_process(request_for({"/nonexistent/prog"}));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message(), "exec /nonexistent/prog: No such file or directory");
  EXPECT_EQ(result.error().error_number, ENOENT);
  EXPECT_FALSE(has_children()) << "the failed child was not reaped";
  EXPECT_EQ(open_fds("self"), fds_before);
}

TEST(SpawnProcess, ReportsBadWorkingDirectory) {
  SpawnRequest request = sleeper();
  request.working_directory = "/nonexistent/dir";
  auto result = spawn_process(request);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message(), "chdir /nonexistent/dir: No such file or directory");
  EXPECT_FALSE(has_children());
}

TEST(SpawnProcess, RejectsEmptyArgvAndRelativeProgram) {
  auto empty = spawn_process(request_for({}));
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message(), "exec: Invalid argument");
  auto relative = spawn_process(request_for({"bin/sleep", "1"}));
  ASSERT_FALSE(relative);
  EXPECT_EQ(relative.error().message(), "exec bin/sleep: Invalid argument");
}

TEST(SpawnProcess, ReportsUnopenedOutputDescriptor) {
  SpawnRequest request = sleeper();
  request.stdout_fd = 999;
  auto result = spawn_process(request);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message(), "dup stdout fd 999: Bad file descriptor");
}

TEST(SpawnProcess, PassesExactlyArgvAndEnvironment) {
  Pipe out;
  SpawnRequest request = request_for({"/usr/bin/env"});
  request.env = {"A=1", "B=two words", "EMPTY="};
  request.stdout_fd = out.fds[1];
  auto result = spawn_process(request);
  ASSERT_TRUE(result) << result.error().message();
  Child child(*result);
  EXPECT_EQ(out.read_all(), "A=1\nB=two words\nEMPTY=\n");
  EXPECT_EQ(child.wait(), 0);

  Pipe args;
  request = request_for({"/bin/sh", "-c", R"(printf '%s|' "$0" "$1")", "zero", "one two"});
  request.stdout_fd = args.fds[1];
  auto shell = spawn_process(request);
  ASSERT_TRUE(shell) << shell.error().message();
  Child sh(*shell);
  EXPECT_EQ(args.read_all(), "zero|one two|");
}

TEST(SpawnProcess, AppliesWorkingDirectory) {
  char dir[] = "/tmp/spawn_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  SpawnRequest request = sleeper();
  request.working_directory = dir;
  auto result = spawn_process(request);
  ASSERT_TRUE(result) << result.error().message();
  Child child(*result);
  EXPECT_EQ(fs::read_symlink("/proc/" + std::to_string(child.pid()) + "/cwd"), dir);
  rmdir(dir);
}

TEST(SpawnProcess, PutsChildInItsOwnProcessGroup) {
  auto result = spawn_process(sleeper());
  ASSERT_TRUE(result) << result.error().message();
  Child child(*result);
  EXPECT_EQ(getpgid(child.pid()), child.pid());
  EXPECT_NE(getpgid(0), child.pid());
}

TEST(SpawnProcess, ResetsSignalMaskAndDispositions) {
  sigset_t blocked, before, after;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGCHLD);
  ASSERT_EQ(sigprocmask(SIG_BLOCK, &blocked, &before), 0);
  struct sigaction ignore {
  }, old_usr1{}, old_pipe{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGUSR1, &ignore, &old_usr1);
  sigaction(SIGPIPE, &ignore, &old_pipe);

  auto result = spawn_process(sleeper());
  const std::string our_ignored = status_text(getpid(), "SigIgn");
  sigprocmask(SIG_SETMASK, nullptr, &after);
  sigprocmask(SIG_SETMASK, &before, nullptr);
  sigaction(SIGUSR1, &old_usr1, nullptr);
  sigaction(SIGPIPE, &old_pipe, nullptr);
  ASSERT_TRUE(result) << result.error().message();
  Child child(*result);
  EXPECT_NE(our_ignored, "0000000000000000") << "the test did not manage to ignore signals";
  EXPECT_EQ(status_text(child.pid(), "SigBlk"), "0000000000000000");
  EXPECT_EQ(status_text(child.pid(), "SigIgn"), "0000000000000000");
  EXPECT_EQ(sigismember(&after, SIGTERM), 1) << "the caller's mask was not restored";
  EXPECT_EQ(sigismember(&after, SIGUSR2), 0) << "the caller's mask was not restored";
}

TEST(SpawnProcess, RedirectsStdoutAndStderrAndReadsDevNull) {
  Pipe out, err;
  SpawnRequest request = request_for({"/bin/sh", "-c", "cat; echo out; echo err >&2"});
  request.stdout_fd = out.fds[1];
  request.stderr_fd = err.fds[1];
  auto result = spawn_process(request);
  ASSERT_TRUE(result) << result.error().message();
  Child child(*result);
  EXPECT_EQ(out.read_all(), "out\n");  // cat copied nothing: stdin is /dev/null
  EXPECT_EQ(err.read_all(), "err\n");
  EXPECT_EQ(child.wait(), 0);
}

TEST(SpawnProcess, AcceptsCallersStdioDescriptorsAsOutputs) {
  // The caller's fd 0 handed over as the child's stdout must not turn into /dev/null.
  Pipe out;
  const int saved_stdin = dup(STDIN_FILENO);
  ASSERT_EQ(dup2(out.fds[1], STDIN_FILENO), STDIN_FILENO);
  SpawnRequest request = request_for({"/bin/sh", "-c", "echo via-zero"});
  request.stdout_fd = STDIN_FILENO;
  auto result = spawn_process(request);
  dup2(saved_stdin, STDIN_FILENO);
  close(saved_stdin);
  ASSERT_TRUE(result) << result.error().message();
  Child child(*result);
  EXPECT_EQ(out.read_all(), "via-zero\n");
}

// The child lists its own descriptors once exec is complete: spawn_process() returns as soon
// as the child released our memory, which is before the kernel closes O_CLOEXEC ones.
TEST(SpawnProcess, LeaksNoDescriptorsIntoChild) {
  const int stray = dup2(STDERR_FILENO, 100);  // deliberately without O_CLOEXEC
  ASSERT_EQ(stray, 100);
  Pipe out;
  const auto fds_before = open_fds("self");
  SpawnRequest request = request_for({"/bin/ls", "/proc/self/fd"});
  request.stdout_fd = out.fds[1];
  auto result = spawn_process(request);
  close(stray);
  ASSERT_TRUE(result) << result.error().message();
  Child child(*result);
  auto fds_after = open_fds("self");
  EXPECT_EQ(out.read_all(), "0\n1\n2\n3\n");  // 3: the directory ls reads
  fds_after.erase(std::to_string(child.pidfd()));
  fds_after.insert("100");
  EXPECT_EQ(fds_after, fds_before) << "only the pidfd may be new in the caller";
}

}  // namespace
}  // namespace duende::supervisor::spawn_test
