// spawn_process against the real kernel: real children, checked from outside through
// /proc/PID and through what they write to pipes.
#include "spawn.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "forked_child.hpp"
#include "privilege.hpp"
#include "proc_peek.hpp"

namespace duende::supervisor {
namespace {

namespace fs = std::filesystem;

constexpr idtype_t kIdPidfd = static_cast<idtype_t>(3);  // P_PIDFD, absent from glibc 2.36
constexpr uid_t kNobody = 65534;

// A spawned child that is killed (if still running) and reaped when the test ends.
class Child {
 public:
  explicit Child(const SpawnedProcess& process) : process_(process) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (process_.pidfd < 0) return;
    syscall(SYS_pidfd_send_signal, process_.pidfd, SIGKILL, nullptr, 0);
    wait();
  }
  pid_t pid() const { return process_.pid; }
  int pidfd() const { return process_.pidfd; }

  // Reaps the child: its exit code, or minus the signal that killed it.
  int wait() {
    siginfo_t info{};
    while (waitid(kIdPidfd, static_cast<id_t>(process_.pidfd), &info, WEXITED) != 0) {
      if (errno != EINTR) return -1000;
    }
    close(process_.pidfd);
    process_.pidfd = -1;
    return info.si_code == CLD_EXITED ? info.si_status : -info.si_status;
  }

 private:
  SpawnedProcess process_;
};

// Both ends O_CLOEXEC; the write end can be closed early, after handing it to a child.
struct Pipe {
  Pipe() { EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0); }
  ~Pipe() {
    close_write();
    close(fds[0]);
  }
  void close_write() {
    if (fds[1] >= 0) close(fds[1]);
    fds[1] = -1;
  }
  // Everything written until every write end is closed.
  std::string read_all() {
    close_write();
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
    return text;
  }
  // What is in the pipe now, without waiting for more.
  std::string read_available() {
    pollfd p{fds[0], POLLIN, 0};
    std::string text;
    char buf[4096];
    while (poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
      const ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
    return text;
  }
  int fds[2] = {-1, -1};
};

SpawnRequest request_for(std::vector<std::string> argv) {
  SpawnRequest request;
  request.argv = std::move(argv);
  request.env = {"PATH=/usr/bin:/bin"};
  return request;
}

SpawnRequest sleeper() { return request_for({"/bin/sleep", "30"}); }

// The text after "Field:" in /proc/PID/status, without surrounding blanks.
std::string status_text(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    const auto begin = line.find_first_not_of(" \t", field.size() + 1);
    if (begin == std::string::npos) return "";
    return line.substr(begin, line.find_last_not_of(" \t") + 1 - begin);
  }
  return "<missing>";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The "Max locked memory" line of /proc/PID/limits, blanks collapsed.
std::string memlock_line(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Max locked memory", 0) != 0) continue;
    std::string collapsed;
    for (char c : line)
      if (c != ' ' || (!collapsed.empty() && collapsed.back() != ' ')) collapsed += c;
    return collapsed.substr(0, collapsed.find_last_not_of(' ') + 1);
  }
  return "<missing>";
}

std::set<std::string> open_fds(const std::string& pid) {
  std::set<std::string> fds;
  for (const auto& entry : fs::directory_iterator("/proc/" + pid + "/fd"))
    fds.insert(entry.path().filename().string());
  return fds;
}

bool has_children() {
  siginfo_t info{};
  return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

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
}  // namespace duende::supervisor
