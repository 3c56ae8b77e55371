// The System interface over the real kernel: pidfds watched by the event loop, one timerfd
// for every deadline of the core, spawn_process(), /proc through libduende-mlock, sd_notify
// without blocking.
#pragma once

#include <sys/resource.h>

#include <functional>
#include <memory>
#include <optional>

#include "os/event_loop.hpp"
#include "os/system.hpp"

namespace duende::supervisor {

class KernelSystem final : public System {
 public:
  // Creates the wake-up timerfd and watches it in `loop`. Children get `child_nofile` as
  // their RLIMIT_NOFILE when set (the limits the supervisor had before it raised its
  // own). Failure (EMFILE, ENFILE, ENOMEM): std::system_error naming timerfd_create.
  explicit KernelSystem(EventLoop& loop, std::optional<rlimit> child_nofile = std::nullopt);
  ~KernelSystem() override;

  Clock::time_point now() override;
  void wake_at(Clock::time_point when) override;
  void set_wakeup_handler(std::function<void()> on_wakeup) override;

  mlock::Result<ProcessHandle, SpawnError> spawn(const SpawnRequest& request,
                                                 const std::string& log_identifier,
                                                 std::function<void()> on_exit) override;
  std::optional<ExitStatus> reap(const ProcessHandle& process) override;
  int signal(const ProcessHandle& process, int signo, int& group_error) override;
  void release(ProcessHandle& process, bool kill_if_running) override;

  mlock::Result<mlock::ProcessMemory, mlock::InspectError> inspect(pid_t pid,
                                                                   bool coverage) override;
  std::uint64_t fd_limit() override;
  uid_t effective_uid() override;
  std::string user_home(uid_t uid) override;
  void trim_heap() override;

  int notify_service_manager(std::string_view state) override;
  std::optional<std::chrono::microseconds> watchdog_period() override;

 private:
  EventLoop& loop_;
  std::optional<rlimit> child_nofile_;
  int timer_fd_ = -1;
  std::function<void()> on_wakeup_;
};

}  // namespace duende::supervisor
