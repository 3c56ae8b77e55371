// The System interface over the real kernel: pidfds watched by the event loop, one timerfd
// for every deadline of the core, spawn_process(), /proc through libduende-mlock, sd_notify
// without blocking.
#pragma once

#include <sys/resource.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "os/cgroup.hpp"
#include "os/event_loop.hpp"
#include "os/kept_files.hpp"
#include "os/system.hpp"

namespace duende::supervisor {

class KernelSystem final : public System {
 public:
  // Creates the wake-up timerfd and watches it in `loop`. Children get `child_nofile` as
  // their RLIMIT_NOFILE when set (the limits the supervisor had before it raised its
  // own). Failure (EMFILE, ENFILE, ENOMEM): std::system_error naming timerfd_create.
  // The state lives in directory `state_dir` (KEY.json each; save_state, load_state),
  // which must exist; none when empty.
  // Children's processes are kept together as `cgroups` says (Cgroups::set_up()).
  explicit KernelSystem(EventLoop& loop, std::optional<rlimit> child_nofile = std::nullopt,
                        std::string state_dir = {},
                        Cgroups cgroups = Cgroups::unusable("not set up"));
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

  mlock::Result<ProcessHandle, std::string> adopt(const Adoption& adoption,
                                                  std::function<void()> on_exit) override;
  ProcessTracking process_tracking() override;
  std::vector<pid_t> processes(const ProcessHandle& process) override;
  mlock::Result<ProcessHandle, std::string> follow(const ProcessHandle& ended,
                                                   std::function<void()> on_exit) override;
  std::string cgroup_of(pid_t pid) override;
  std::uint64_t oom_kills(const ProcessHandle& process) override;
  std::string process_name(pid_t pid) override;
  // Reaps this process's exited children that nobody watches: orphans of the children's
  // trees, which come to us as their subreaper (PR_SET_CHILD_SUBREAPER, set by run()).
  // `keep`: a child of ours someone else will reap (-1 for none). Call on SIGCHLD.
  void reap_strays(pid_t keep);
  // Removes the children's cgroup base at a clean end, when it is ours and empty.
  void remove_cgroup_base() { cgroups_.remove_base(); }
  void keep_across_exec(const ProcessHandle& process, bool keep) override;
  std::map<std::string, std::string> load_state(std::vector<std::string>& errors) override;
  int save_state(const std::string& key, std::string_view text) override;
  void remove_state(const std::string& key) override;
  std::vector<StoredHandle> take_stored_handles() override;
  void store_handle(const std::string& name, const ProcessHandle& process) override;
  void forget_stored_handle(const std::string& name) override;
  void close_handle(int fd) override;
  std::chrono::system_clock::time_point wall_now() override;
  std::string boot_id() override;
  pid_t own_pid() override;

  // A state file is read up to this size; a bigger one is not ours.
  static constexpr std::size_t kMaxStateBytes = 1024 * 1024;
  // /proc/PID/status: about 1.5 KiB, more with a long Groups: line (which comes before
  // the Vm* lines, so the text must not be cut short of them).
  static constexpr std::size_t kMaxStatusBytes = 1024 * 1024;
  // An adopted process that is not our child is reaped by its parent; its status is
  // looked for every kForeignRetry, kForeignTries times, then reported unknown.
  static constexpr Clock::duration kForeignRetry = std::chrono::milliseconds(10);
  static constexpr int kForeignTries = 100;
  // follow() reads the cgroup's processes at most this many times.
  static constexpr int kFollowRounds = 64;

  mlock::Result<mlock::ProcessMemory, mlock::InspectError> inspect(pid_t pid) override;
  mlock::Result<mlock::MemoryDetail, mlock::InspectError> inspect_detail(pid_t pid) override;
  mlock::Result<mlock::IoFlusherThreads, mlock::InspectError> inspect_io_flusher(
      pid_t pid) override;
  std::uint64_t fd_limit() override;
  void set_spare_fds(std::uint64_t spare) override { kept_.set_allowance(spare / 2); }
  uid_t effective_uid() override;
  std::string user_home(uid_t uid) override;
  void trim_heap() override;

  mlock::Result<int, SpawnError> run_tool(const std::vector<std::string>& argv,
                                          std::function<void(ToolResult)> on_exit) override;
  void release_tool(int id, bool kill) override;
  mlock::Result<std::string, int> read_proc_swaps() override;

  int notify_service_manager(std::string_view state) override;
  std::optional<std::chrono::microseconds> watchdog_period() override;

 private:
  EventLoop& loop_;
  KeptFiles kept_;  // /proc/PID/status and cgroup.procs of each round
  uid_t euid_;      // it never changes: one geteuid() rather than one per child per round
  std::optional<rlimit> child_nofile_;
  Cgroups cgroups_;
  std::unordered_map<pid_t, int> watched_;  // pid -> how many handles watch it
  unsigned cgroup_warned_ = 0;
  bool clone3_noted_ = false;  // said once: children join their cgroups the slow way
  void watch(pid_t pid) { ++watched_[pid]; }
  int join_cgroup(const std::string& name, SpawnRequest& req);
  void note_cgroup_start(const SpawnedProcess& spawned);
  mlock::Result<ProcessHandle, std::string> watch_process(const Adoption& adoption,
                                                          std::function<void()> on_exit);
  void unwatch(pid_t pid);
  void check_foreign(int fd);
  void check_pending_foreign();

  int timer_fd_ = -1;
  std::function<void()> on_wakeup_;
  std::string state_dir_;
  unsigned store_warned_ = 0;  // a failed fd-store message is said once
  // Adopted processes that are not our children, by handle.
  struct Foreign {
    std::function<void()> on_exit;
    int tries = 0;
    bool pending = false;  // exited, waiting for its parent to reap it
    std::optional<ExitStatus> status;
  };
  std::unordered_map<int, Foreign> foreign_;
  std::unique_ptr<FdTimer> foreign_retry_;  // made at the first foreign exit
  // Helpers run for the supervisor itself (run_tool), by id (their pidfd).
  struct Tool {
    pid_t pid = 0;
    int output_fd = -1;  // the memory file its stdout and stderr go to
    std::function<void(ToolResult)> on_exit;
  };
  std::unordered_map<int, Tool> tools_;
  void on_tool_exit(int id);
};

}  // namespace duende::supervisor
