#include "os/kernel_system.hpp"

#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "os/log.hpp"
#include "os/process_setup.hpp"

namespace duende::supervisor {
namespace {

timespec to_timespec(Clock::duration d) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  return timespec{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
}

}  // namespace

KernelSystem::KernelSystem(EventLoop& loop, std::optional<rlimit> child_nofile)
    : loop_(loop),
      child_nofile_(child_nofile),
      timer_fd_(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) {
  if (timer_fd_ < 0) throw std::system_error(errno, std::generic_category(), "timerfd_create");
  loop_.add(timer_fd_, EPOLLIN, [this](std::uint32_t) {
    std::uint64_t expirations = 0;
    if (::read(timer_fd_, &expirations, sizeof expirations) != sizeof expirations) return;
    if (on_wakeup_) on_wakeup_();
  });
}

KernelSystem::~KernelSystem() {
  loop_.remove(timer_fd_);
  ::close(timer_fd_);
}

Clock::time_point KernelSystem::now() { return Clock::now(); }

void KernelSystem::wake_at(Clock::time_point when) {
  itimerspec spec{};  // all zero: disarmed
  if (when != Clock::time_point::max()) {
    // steady_clock is CLOCK_MONOTONIC; a zero it_value would disarm, so at least 1 ns.
    const auto since_epoch = when.time_since_epoch();
    spec.it_value =
        since_epoch > std::chrono::nanoseconds(1) ? to_timespec(since_epoch) : timespec{0, 1};
  }
  ::timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void KernelSystem::set_wakeup_handler(std::function<void()> on_wakeup) {
  on_wakeup_ = std::move(on_wakeup);
}

mlock::Result<ProcessHandle, SpawnError> KernelSystem::spawn(const SpawnRequest& request,
                                                             const std::string& log_identifier,
                                                             std::function<void()> on_exit) {
  SpawnRequest req = request;
  if (child_nofile_ && !req.nofile_limit) req.nofile_limit = child_nofile_;
  // Output to the journal under the child's name when journald is there.
  const int journal = sd_journal_stream_fd(log_identifier.c_str(), LOG_INFO, 1);
  if (journal >= 0) req.stdout_fd = req.stderr_fd = journal;
  auto spawned = spawn_process(req);
  if (journal >= 0) ::close(journal);
  if (!spawned) return mlock::Unexpected(spawned.error());
  // The child could not write these itself without risking a full pipe (os/spawn.hpp).
  for (const std::string& warning : spawned->warnings) log_warning(log_identifier + ": " + warning);
  ProcessHandle process{spawned->pid, spawned->pidfd};
  try {
    loop_.add(process.handle, EPOLLIN,
              [on_exit = std::move(on_exit)](std::uint32_t) { on_exit(); });
  } catch (const std::system_error& e) {
    // Unwatched, it would run unsupervised: end it now, the start fails and is retried.
    release(process, true);
    return mlock::Unexpected(SpawnError{"epoll_ctl", e.code().value()});
  }
  return process;
}

std::optional<ExitStatus> KernelSystem::reap(const ProcessHandle& process) {
  siginfo_t info{};
  if (!process.valid() ||
      ::waitid(kIdPidfd, static_cast<id_t>(process.handle), &info, WEXITED | WNOHANG) != 0 ||
      info.si_pid == 0)
    return std::nullopt;
  return ExitStatus{info.si_code != CLD_EXITED, info.si_status};
}

int KernelSystem::signal(const ProcessHandle& process, int signo, int& group_error) {
  group_error = 0;
  if (!process.valid()) return ESRCH;
  if (::kill(-process.pid, signo) != 0 && errno != ESRCH) group_error = errno;
  if (::syscall(SYS_pidfd_send_signal, process.handle, signo, nullptr, 0) != 0 && errno != ESRCH)
    return errno;
  return 0;
}

void KernelSystem::release(ProcessHandle& process, bool kill_if_running) {
  if (!process.valid()) return;
  loop_.remove(process.handle);  // unknown fds are ignored
  if (kill_if_running) {
    ::kill(-process.pid, SIGKILL);  // its helpers too; the pid is ours until reaped
    ::syscall(SYS_pidfd_send_signal, process.handle, SIGKILL, nullptr, 0);
    siginfo_t info{};
    ::waitid(kIdPidfd, static_cast<id_t>(process.handle), &info, WEXITED);
  }
  ::close(process.handle);
  process = {};
}

mlock::Result<mlock::ProcessMemory, mlock::InspectError> KernelSystem::inspect(pid_t pid,
                                                                               bool coverage) {
  return mlock::inspect(pid, coverage);
}

uid_t KernelSystem::effective_uid() { return process_effective_uid(); }

std::uint64_t KernelSystem::fd_limit() { return fd_limit_now(); }

std::string KernelSystem::user_home(uid_t uid) {
  char buf[4096];
  passwd pw{};
  passwd* found = nullptr;
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) != 0 || !found || !found->pw_dir) return {};
  return found->pw_dir;
}

void KernelSystem::trim_heap() { ::malloc_trim(0); }

// Never blocks (sd_notify() would when systemd's queue is full).
int KernelSystem::notify_service_manager(std::string_view state) {
  return mlock::notify_send(state);
}

std::optional<std::chrono::microseconds> KernelSystem::watchdog_period() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
    return std::chrono::microseconds(static_cast<std::int64_t>(usec));
  return std::nullopt;
}

}  // namespace duende::supervisor
