#include "os/kernel_system.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
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
#include <cstring>
#include <system_error>

#include "os/fd_store.hpp"
#include "os/log.hpp"
#include "os/process_identity.hpp"
#include "os/process_setup.hpp"
#include "os/state_file.hpp"

namespace duende::supervisor {
namespace {

timespec to_timespec(Clock::duration d) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  return timespec{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
}

}  // namespace

KernelSystem::KernelSystem(EventLoop& loop, std::optional<rlimit> child_nofile,
                           std::string state_dir, Cgroups cgroups)
    : loop_(loop),
      euid_(process_effective_uid()),
      child_nofile_(child_nofile),
      cgroups_(std::move(cgroups)),
      timer_fd_(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)),
      state_dir_(std::move(state_dir)) {
  if (timer_fd_ < 0) throw std::system_error(errno, std::generic_category(), "timerfd_create");
  loop_.add(timer_fd_, EPOLLIN, [this](std::uint32_t) {
    std::uint64_t expirations = 0;
    if (::read(timer_fd_, &expirations, sizeof expirations) != sizeof expirations) return;
    if (on_wakeup_) on_wakeup_();
  });
}

KernelSystem::~KernelSystem() {
  for (const auto& [id, tool] : tools_) {  // helpers still running are left to finish
    loop_.remove(id);
    ::close(tool.output_fd);
    ::close(id);
  }
  loop_.remove(timer_fd_);
  ::close(timer_fd_);
  cgroups_.remove_base();  // ours and empty (children stopped), else it stays
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
  const int cgroup = join_cgroup(log_identifier, req);
  auto spawned = spawn_process(req);
  if (journal >= 0) ::close(journal);
  if (cgroup >= 0) ::close(cgroup);
  if (!spawned) {
    if (!req.cgroup.empty()) Cgroups::remove(req.cgroup);  // nothing ever joined it
    return mlock::Unexpected(spawned.error());
  }
  note_cgroup_start(*spawned);
  // The child could not write these itself without risking a full pipe (os/spawn.hpp).
  for (const std::string& warning : spawned->warnings)
    log_warning(LogFields{log_identifier}, log_identifier + ": " + warning);
  ProcessHandle process{spawned->pid, spawned->pidfd, process_start_time(spawned->pid).value_or(0),
                        req.cgroup};
  watch(process.pid);
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
  if (const auto it = foreign_.find(process.handle); it != foreign_.end()) {
    std::optional<ExitStatus> status = std::move(it->second.status);
    it->second.status.reset();
    return status;
  }
  siginfo_t info{};
  if (!process.valid() ||
      ::waitid(kIdPidfd, static_cast<id_t>(process.handle), &info, WEXITED | WNOHANG) != 0 ||
      info.si_pid == 0)
    return std::nullopt;
  return ExitStatus{info.si_code != CLD_EXITED, info.si_status, true, info.si_code == CLD_DUMPED};
}

int KernelSystem::signal(const ProcessHandle& process, int signo, int& group_error) {
  group_error = 0;
  if (!process.valid()) return ESRCH;
  if (!process.cgroup.empty()) {
    // The whole tree: SIGKILL all at once, anything else to each process but the main one,
    // which gets it through its pidfd below.
    if (signo == SIGKILL) {
      if (const int e = Cgroups::kill_all(process.cgroup); e != 0 && e != ENOENT) group_error = e;
    } else {
      for (const pid_t pid : Cgroups::processes(process.cgroup, kMaxTreeProcesses))
        if (pid != process.pid && ::kill(pid, signo) != 0 && errno != ESRCH) group_error = errno;
    }
    if (::syscall(SYS_pidfd_send_signal, process.handle, signo, nullptr, 0) != 0 && errno != ESRCH)
      return errno;
    return 0;
  }
  // An adopted process that is not our child is reaped by someone else: once it has
  // exited its pid (and so its group's number) may be reused, so only the pidfd is safe.
  const auto foreign = foreign_.find(process.handle);
  const bool group_safe = foreign == foreign_.end() || !foreign->second.pending;
  pollfd exited{process.handle, POLLIN, 0};
  if (group_safe && (foreign == foreign_.end() || ::poll(&exited, 1, 0) == 0) &&
      ::kill(-process.pid, signo) != 0 && errno != ESRCH)
    group_error = errno;
  if (::syscall(SYS_pidfd_send_signal, process.handle, signo, nullptr, 0) != 0 && errno != ESRCH)
    return errno;
  return 0;
}

void KernelSystem::release(ProcessHandle& process, bool kill_if_running) {
  if (!process.valid()) return;
  unwatch(process.pid);
  if (kill_if_running && !process.cgroup.empty()) Cgroups::kill_all(process.cgroup);
  loop_.remove(process.handle);              // unknown fds are ignored
  if (foreign_.erase(process.handle) > 0) {  // not ours to reap
    if (kill_if_running) ::syscall(SYS_pidfd_send_signal, process.handle, SIGKILL, nullptr, 0);
    kill_if_running = false;
  }
  if (kill_if_running) {
    ::kill(-process.pid, SIGKILL);  // its helpers too; the pid is ours until reaped
    ::syscall(SYS_pidfd_send_signal, process.handle, SIGKILL, nullptr, 0);
    siginfo_t info{};
    ::waitid(kIdPidfd, static_cast<id_t>(process.handle), &info, WEXITED);
  }
  ::close(process.handle);
  kept_.forget("/proc/" + std::to_string(process.pid) + "/status");
  if (!process.cgroup.empty()) kept_.forget(process.cgroup + "/cgroup.procs");
  // Gone with its last process (EBUSY while any is left: then it stays).
  if (!process.cgroup.empty() && !Cgroups::populated(process.cgroup))
    Cgroups::remove(process.cgroup);
  process = {};
}

namespace {

ExitStatus from_wait_status(int status) {
  if (WIFSIGNALED(status)) return ExitStatus{true, WTERMSIG(status), true, WCOREDUMP(status) != 0};
  return ExitStatus{false, WEXITSTATUS(status)};
}

}  // namespace

mlock::Result<ProcessHandle, std::string> KernelSystem::adopt(const Adoption& adoption,
                                                              std::function<void()> on_exit) {
  auto adopted = watch_process(adoption, std::move(on_exit));
  if (!adopted) return adopted;
  // Its cgroup when it is one of ours (a child cgroup of this or an earlier supervisor).
  std::string cgroup = cgroups_.usable() ? cgroup_of(adoption.pid) : "";
  const auto slash = cgroup.rfind('/');
  if (slash == std::string::npos || cgroup.compare(slash + 1, 6, "child.") != 0) cgroup.clear();
  adopted->cgroup = std::move(cgroup);
  return adopted;
}

// adopt() but for its cgroup: proves `adoption` names that process and watches it.
mlock::Result<ProcessHandle, std::string> KernelSystem::watch_process(
    const Adoption& adoption, std::function<void()> on_exit) {
  int fd = adoption.fd;
  if (fd >= 0) {
    if (auto same = check_pidfd(fd, adoption.pid, adoption.start_time); !same) {
      // A stale descriptor (a store message that was lost): pid and start time decide.
      ::close(fd);
      fd = -1;
    } else {
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
  }
  if (fd < 0) {
    auto opened = open_process(adoption.pid, adoption.start_time);
    if (!opened) return mlock::Unexpected(opened.error());
    fd = *opened;
  }
  // Still our child after a re-exec: reaped with waitid() as any other. After a crash its
  // parent is the service manager (or init), which reaps it; the pidfd tells us how it
  // ended (Linux 6.15), and nobody else can.
  siginfo_t info{};
  const bool ours =
      ::waitid(kIdPidfd, static_cast<id_t>(fd), &info, WEXITED | WNOHANG | WNOWAIT) == 0;
  try {
    if (ours) {
      loop_.add(fd, EPOLLIN, [on_exit = std::move(on_exit)](std::uint32_t) { on_exit(); });
    } else {
      foreign_[fd].on_exit = std::move(on_exit);
      loop_.add(fd, EPOLLIN, [this, fd](std::uint32_t) { check_foreign(fd); });
    }
  } catch (const std::system_error& e) {
    foreign_.erase(fd);
    ::close(fd);
    return mlock::Unexpected(std::string("cannot watch it: ") + e.what());
  }
  watch(adoption.pid);
  return ProcessHandle{adoption.pid, fd, adoption.start_time, ""};
}

// The pidfd of a foreign process polls readable once it exited, but its status exists only
// once its parent reaped it: look until then (it stays readable, so the loop stops
// watching it meanwhile), and give up after kForeignTries looks.
void KernelSystem::check_foreign(int fd) {
  const auto it = foreign_.find(fd);
  if (it == foreign_.end()) return;
  Foreign& f = it->second;
  std::optional<ExitStatus> status;
  if (const auto wait_status = pidfd_exit_status(fd))
    status = from_wait_status(*wait_status);
  else if (++f.tries >= kForeignTries)
    status = ExitStatus{false, 0, false};
  if (!status) {
    loop_.remove(fd);
    f.pending = true;
    if (!foreign_retry_)
      foreign_retry_ = std::make_unique<FdTimer>(loop_, [this] { check_pending_foreign(); });
    if (!foreign_retry_->armed()) foreign_retry_->arm(kForeignRetry);
    return;
  }
  loop_.remove(fd);
  f.pending = false;
  f.status = status;
  const std::function<void()> on_exit = f.on_exit;  // it may release this entry
  on_exit();
}

void KernelSystem::check_pending_foreign() {
  std::vector<int> pending;
  for (const auto& [fd, f] : foreign_)
    if (f.pending) pending.push_back(fd);
  for (int fd : pending) check_foreign(fd);
}

void KernelSystem::keep_across_exec(const ProcessHandle& process, bool keep) {
  if (process.valid()) ::fcntl(process.handle, F_SETFD, keep ? 0 : FD_CLOEXEC);
}

std::map<std::string, std::string> KernelSystem::load_state(std::vector<std::string>& errors) {
  std::map<std::string, std::string> out;
  if (state_dir_.empty()) return out;
  DIR* dir = ::opendir(state_dir_.c_str());
  if (!dir) {
    if (errno != ENOENT) errors.push_back(state_dir_ + ": " + std::strerror(errno));
    return out;
  }
  while (const dirent* e = ::readdir(dir)) {
    const std::string file = e->d_name;
    if (file.size() <= 5 || file.compare(file.size() - 5, 5, ".json") != 0) continue;
    std::string error;
    auto text = read_file_bounded(state_dir_ + "/" + file, kMaxStateBytes, error);
    if (text)
      out.emplace(file.substr(0, file.size() - 5), std::move(*text));
    else if (!error.empty())
      errors.push_back(file + ": " + error);
  }
  ::closedir(dir);
  return out;
}

int KernelSystem::save_state(const std::string& key, std::string_view text) {
  return state_dir_.empty() ? 0
                            : write_file_atomically(state_dir_ + "/" + key + ".json", text, 0644);
}

void KernelSystem::remove_state(const std::string& key) {
  if (!state_dir_.empty()) ::unlink((state_dir_ + "/" + key + ".json").c_str());
}

std::vector<StoredHandle> KernelSystem::take_stored_handles() {
  std::vector<StoredHandle> out;
  for (StoredFd& s : take_stored_fds()) out.push_back(StoredHandle{std::move(s.name), s.fd});
  return out;
}

void KernelSystem::store_handle(const std::string& name, const ProcessHandle& process) {
  if (!process.valid()) return;
  fd_store_remove(name);
  if (const int e = fd_store_add(process.handle, name); e != 0 && !store_warned_++)
    log_warning("cannot store the pidfd of " + name + " with the service manager: " +
                std::strerror(e) + "; a restarted supervisor will know it by pid and start time");
}

void KernelSystem::forget_stored_handle(const std::string& name) { fd_store_remove(name); }

void KernelSystem::close_handle(int fd) {
  if (fd >= 0) ::close(fd);
}

std::chrono::system_clock::time_point KernelSystem::wall_now() {
  return std::chrono::system_clock::now();
}

std::string KernelSystem::boot_id() { return duende::supervisor::boot_id(); }

pid_t KernelSystem::own_pid() { return ::getpid(); }

mlock::Result<mlock::ProcessMemory, mlock::InspectError> KernelSystem::inspect(pid_t pid) {
  if (pid <= 0) return mlock::inspect(pid, false);  // its EINVAL
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  const auto text = kept_.read(path, kMaxStatusBytes);
  if (!text) {
    const int e = text.error();
    const std::string what =
        e == ENOENT || e == ESRCH ? "no such process" : path + ": " + std::strerror(e);
    return mlock::Unexpected(
        mlock::InspectError{e == ENOENT ? ESRCH : e, "pid " + std::to_string(pid) + ": " + what});
  }
  return mlock::inspect_status_text(pid, *text);
}

mlock::Result<mlock::MemoryDetail, mlock::InspectError> KernelSystem::inspect_detail(pid_t pid) {
  return mlock::inspect_detail(pid);
}

mlock::Result<mlock::IoFlusherThreads, mlock::InspectError> KernelSystem::inspect_io_flusher(
    pid_t pid) {
  return mlock::inspect_io_flusher(pid);
}

uid_t KernelSystem::effective_uid() { return euid_; }

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
