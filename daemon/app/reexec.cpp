#include "app/reexec.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "duende/mlock.hpp"
#include "os/log.hpp"
#include "os/spawn.hpp"

extern char** environ;

namespace duende::supervisor {

std::string own_executable() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  std::string path(buf, static_cast<std::size_t>(n));
  // Already replaced on disk (an upgrade before we looked): the path is what we want.
  const std::string deleted = " (deleted)";
  if (path.size() > deleted.size() &&
      path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0)
    path.resize(path.size() - deleted.size());
  return path;
}

namespace {
constexpr const char* kChildNofileVariable = "MLOCK_SUPERVISOR_CHILD_NOFILE";
}  // namespace

std::optional<rlimit> take_kept_child_nofile() {
  const char* text = std::getenv(kChildNofileVariable);
  if (!text) return std::nullopt;
  unsigned long long soft = 0, hard = 0;
  const bool ok = std::sscanf(text, "%llu:%llu", &soft, &hard) == 2 && soft <= hard;
  ::unsetenv(kChildNofileVariable);
  if (!ok) return std::nullopt;
  return rlimit{static_cast<rlim_t>(soft), static_cast<rlim_t>(hard)};
}

Reexecutor::Reexecutor(EventLoop& loop, Supervisor& supervisor, NotifySocket& notify_socket,
                       std::string executable, std::vector<std::string> argv, rlimit child_nofile,
                       std::function<void()> before_exec, std::function<void()> after_failed_exec)
    : loop_(loop),
      supervisor_(supervisor),
      notify_socket_(notify_socket),
      executable_(std::move(executable)),
      argv_(std::move(argv)),
      child_nofile_(child_nofile),
      before_exec_(std::move(before_exec)),
      after_failed_exec_(std::move(after_failed_exec)) {}

Reexecutor::~Reexecutor() { end_check(); }

namespace {
constexpr const char* kSwapBusyText =
    "a child's swap is being turned on or off (mkswap, swapon or swapoff running); try again "
    "once it is done";
}  // namespace

mlock::Result<void, std::string> Reexecutor::request_reexec(const std::string& who) {
  if (check_pid_ > 0) return mlock::Unexpected(std::string("a re-exec is already under way"));
  if (supervisor_.state() == ManagerState::Stopping)
    return mlock::Unexpected(std::string("the supervisor is stopping"));
  if (executable_.empty())
    return mlock::Unexpected(std::string("the supervisor's own binary is unknown"));
  if (supervisor_.swap_busy()) return mlock::Unexpected(std::string(kSwapBusyText));
  failure_.clear();
  log_notice("re-exec requested by " + who + ": checking " + executable_ + " --check-config");
  // The check's output, for the log should it fail: an anonymous file, read afterwards
  // (a pipe could fill up and stall it).
  check_output_ = static_cast<int>(::syscall(SYS_memfd_create, "reexec-check", MFD_CLOEXEC));
  SpawnRequest req;
  req.argv = argv_;
  req.argv[0] = executable_;
  req.argv.push_back("--check-config");
  for (char** e = environ; e && *e; ++e) req.env.emplace_back(*e);
  req.stdout_fd = req.stderr_fd = check_output_;
  auto spawned = spawn_process(req);
  if (!spawned) {
    const std::string why = "cannot run " + executable_ + ": " + spawned.error().message();
    end_check();
    fail(why);
    return mlock::Unexpected(why);
  }
  check_pid_ = spawned->pid;
  check_pidfd_ = spawned->pidfd;
  try {
    loop_.add(check_pidfd_, EPOLLIN, [this](std::uint32_t) { on_check_exit(); });
    check_timer_ = std::make_unique<FdTimer>(loop_, [this] { on_check_timeout(); });
    check_timer_->arm(kCheckTimeout);
  } catch (const std::exception& e) {
    const std::string why = std::string("cannot watch the check: ") + e.what();
    end_check();
    fail(why);
    return mlock::Unexpected(why);
  }
  return {};
}

void Reexecutor::end_check() {
  if (check_pidfd_ >= 0) {
    loop_.remove(check_pidfd_);
    if (check_pid_ > 0) {
      ::syscall(SYS_pidfd_send_signal, check_pidfd_, SIGKILL, nullptr, 0);
      siginfo_t info{};
      ::waitid(kIdPidfd, static_cast<id_t>(check_pidfd_), &info, WEXITED);
    }
    ::close(check_pidfd_);
  }
  if (check_output_ >= 0) ::close(check_output_);
  check_pidfd_ = check_output_ = -1;
  check_pid_ = -1;
  check_timer_.reset();
}

void Reexecutor::fail(const std::string& why) {
  failure_ = why;
  log_error("re-exec refused: " + why + "; the running supervisor goes on");
}

void Reexecutor::on_check_timeout() {
  end_check();
  fail(executable_ + " --check-config did not finish within " +
       std::to_string(kCheckTimeout.count()) + " s");
}

void Reexecutor::on_check_exit() {
  siginfo_t info{};
  if (::waitid(kIdPidfd, static_cast<id_t>(check_pidfd_), &info, WEXITED | WNOHANG) != 0 ||
      info.si_pid == 0)
    return;
  check_pid_ = -1;  // reaped
  std::string output;
  if (check_output_ >= 0) {
    char buf[2048];
    const ssize_t n = ::pread(check_output_, buf, sizeof buf, 0);
    if (n > 0) output.assign(buf, static_cast<std::size_t>(n));
    while (!output.empty() && output.back() == '\n') output.pop_back();
  }
  const bool ok = info.si_code == CLD_EXITED && info.si_status == 0;
  end_check();
  if (!ok) {
    fail(executable_ + " --check-config " +
         (info.si_code == CLD_EXITED
              ? "exited with status " + std::to_string(info.si_status)
              : std::string("was killed by signal ") + sigabbrev_np(info.si_status)) +
         (output.empty() ? "" : ": " + output));
    return;
  }
  exec_now();
}

void Reexecutor::exec_now() {
  if (supervisor_.state() == ManagerState::Stopping) {
    fail("the supervisor began stopping");
    return;
  }
  if (supervisor_.swap_busy()) {  // its helper and the stop waiting for it would be lost
    fail(kSwapBusyText);
    return;
  }
  if (const int e = supervisor_.prepare_reexec(notify_socket_.fd()); e != 0) {
    fail(std::string("cannot write the state directory: ") + std::strerror(e));
    return;
  }
  ::fcntl(notify_socket_.fd(), F_SETFD, 0);
  log_notice("re-executing " + executable_ + " in place (pid " + std::to_string(::getpid()) +
             "); " + std::to_string(supervisor_.children().size()) + " children keep running");
  mlock::notify_send("RELOADING=1\nSTATUS=re-executing\nWATCHDOG=1");
  if (before_exec_) before_exec_();
  log_flush();
  std::vector<char*> args;
  for (std::string& a : argv_) args.push_back(a.data());
  args.push_back(nullptr);
  const std::string nofile =
      std::to_string(child_nofile_.rlim_cur) + ":" + std::to_string(child_nofile_.rlim_max);
  ::setenv(kChildNofileVariable, nofile.c_str(), 1);
  ::execve(executable_.c_str(), args.data(), environ);
  const int e = errno;
  ::unsetenv(kChildNofileVariable);
  ::fcntl(notify_socket_.fd(), F_SETFD, FD_CLOEXEC);
  supervisor_.abort_reexec();
  fail("execve " + executable_ + ": " + std::strerror(e));
  if (after_failed_exec_) after_failed_exec_();
  mlock::notify_send("READY=1");
}

}  // namespace duende::supervisor
