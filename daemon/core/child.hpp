// One supervised child: its process, its lifecycle state machine (states in
// api/child_state.hpp), what it reported about its lock and what /proc says about it. It
// reaches the OS only through the System in its context.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/child_properties.hpp"
#include "api/child_state.hpp"
#include "config/config.hpp"
#include "core/notify_message.hpp"
#include "core/proc_swaps.hpp"
#include "core/saved_state.hpp"
#include "core/swap_control.hpp"
#include "core/timer_queue.hpp"
#include "duende/mlock.hpp"
#include "os/log.hpp"
#include "os/system.hpp"

namespace duende::supervisor {

class Child;

// What the full checks (the smaps walk, the thread flags) last said of a child's tree,
// summed over its processes; kept between them, as they run every full_check_interval.
struct TreeFigures {
  // Rss of the lockable mappings without the lock (memory the kernel may swap out now)
  // and shared memory in swap (which VmSwap leaves out), from the processes' smaps.
  std::uint64_t resident_unlocked_bytes = 0;
  std::uint64_t swapped_shmem_bytes = 0;
  // The first unlocked lockable mapping, "7f12a000-7f12c000 rw-p [heap]", with "pid N: "
  // before it when not the main process's; "" when none.
  std::string first_unlocked_mapping;
  // The main process's soft RLIMIT_MEMLOCK; nullopt when unlimited or not read yet.
  std::optional<std::uint64_t> memlock_limit;
  // Threads of the tree, and those with PF_MEMALLOC_NOIO|PF_LOCAL_THROTTLE; the first
  // without, "pid 42 thread 43 (worker)". io_flusher_known: every process was read.
  bool io_flusher_known = false;
  std::uint64_t threads = 0;
  std::uint64_t io_flusher_threads = 0;
  std::string first_other_thread;
  bool operator==(const TreeFigures&) const = default;
};

// What a child tells its owner. Called from inside the child's own event handling; the
// owner must not destroy the child from inside a call.
class ChildListener {
 public:
  enum class Event {
    Changed,   // something observable changed (state, pid, figures, counters)
    Ready,     // reached readiness (children ordered after it may start)
    Settled,   // reached stopped, failed or exited: no process, nothing scheduled
    LockLost,  // must be locked, and /proc shows VmLck == 0 or VmSwap > 0
    SwapLost,  // its process ended while the swap it backs was on
  };
  virtual void on_child_event(Child& child, Event event) = 0;

 protected:
  ~ChildListener() = default;
};

// Where children find the supervisor.
struct ChildContext {
  System& system;
  TimerQueue& timers;
  ChildListener& listener;
  std::string notify_socket;  // path given to children as NOTIFY_SOCKET
  std::string preload_path;   // libduende-mlock-preload.so
};

class Child {
 public:
  Child(ChildContext context, ChildSpec spec);
  ~Child();  // kills a still-running process (SIGKILL) and reaps it
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Starts the process unless it is already starting, running or stopping. `manual` (an
  // operator asked) also forgets earlier failures: the start limit and the backoff.
  void start(bool manual);
  // How a stop that was asked for went: "" once the stop signal is sent (the swap it backs
  // off first) or when there was nothing to stop, else why it was refused (its swap could
  // not be turned off: the child keeps running).
  using StopDone = std::function<void(const std::string& refusal)>;
  // Stops the process (stop_signal to its process group, SIGKILL after stop_timeout_sec)
  // or cancels a pending restart; ends in `stopped`. No restart follows. A child whose
  // swap is on turns it off first (swapoff, in a helper) and is signalled only once it is
  // off; a failed swapoff refuses the stop (logged, swap_refusal(), `done`), unless
  // `force`: then it is stopped anyway, logged at crit. `done` is called exactly once.
  void stop(bool force = false, StopDone done = {});
  // Stops if needed, then starts again. `manual` (an operator asked) forgets earlier
  // failures as start() does; an automatic restart (a lost lock) counts in restarts() and
  // toward the start limit. A refused stop (see stop()) refuses the restart.
  void restart(bool manual = true, StopDone done = {});
  // After the current process (if any) stops, use `spec` and start again; used by a
  // reload that changed this child.
  void replace_spec(ChildSpec spec);

  // Takes back the process an earlier supervisor ran for this child, as `saved` names it
  // (`fd`: a pidfd for it from the service manager's store or a re-exec, or -1), with its
  // counters and state: running stays running, starting waits for readiness again from
  // now, stopping goes on stopping. Its lock is checked at once. False when it is not
  // that process any more (logged; nothing was signalled): then restore() it.
  bool adopt(const SavedChild& saved, int fd);
  // Takes over what `saved` says of a child without a live process: its counters and last
  // failure; a child an operator stopped stays stopped (returns false: do not start it).
  bool restore(const SavedChild& saved);
  // What the state file keeps of this child.
  SavedChild saved() const;
  // The name its pidfd is stored under with the service manager.
  std::string stored_handle_name() const { return "child." + name(); }
  const ProcessHandle& process() const { return process_; }
  bool adopted() const { return adopted_; }
  // Wall-clock microseconds: when this supervisor adopted the process (0 unless
  // adopted()), and when the current process started (0 without one).
  std::int64_t adopted_at_us() const { return adopted_ ? adopted_at_us_ : 0; }
  std::int64_t started_at_us() const { return is_active() ? started_at_us_ : 0; }

  // The pid that sent `message` is this child's process. A lock report refreshes the
  // /proc figures (at most every kReportRefreshInterval, however many arrive) with the
  // smaps coverage walk when the last one is older than `full_check_interval`.
  void handle_notify(const NotifyMessage& message, Clock::duration full_check_interval);
  static constexpr Clock::duration kReportRefreshInterval = std::chrono::milliseconds(100);
  static constexpr unsigned kFloodDatagramsPerSecond = 100;
  // Reads /proc for every process of the tree; `coverage` (a full check) adds the costly
  // smaps walk (one per process) and the threads' flags, which a new process also gets.
  void refresh_memory(bool coverage);

  const std::string& name() const { return spec_.name; }
  const ChildSpec& spec() const { return spec_; }
  ChildState state() const { return state_; }
  pid_t pid() const { return process_.pid; }
  bool must_be_locked() const { return spec_.mlock.must_be_locked(); }
  // Has the first start since startup (or since the last reset) concluded: ready, or
  // failed/exited? Used for the supervisor's own READY=1.
  bool start_settled() const { return start_settled_; }
  bool is_active() const { return process_.valid(); }

  // Figures from /proc for the current process (zero when none).
  const duende::mlock::ProcessMemory& memory() const { return memory_; }
  bool is_locked() const { return is_active() && memory_.locked_bytes > 0; }
  bool lock_lost() const { return lock_lost_; }
  // Lacks the IO_FLUSHER flags it must have (io_flusher_missing()) while running, not yet
  // recovered.
  bool io_flusher_lost() const { return io_flusher_lost_; }
  // Lockable mappings the last smaps check found unlocked, for a child whose lock covers
  // every mapping (mlock "future"); else 0. See TroubleFacts.
  std::uint64_t unlocked_mappings() const {
    return is_active() && must_be_locked() && spec_.mlock.future() && memory_.coverage_checked
               ? memory_.unlocked_mappings
               : 0;
  }
  // VmSwap of the tree plus its shared memory in swap at the last full check: every page
  // of it that is in swap (what SwappedBytes shows and a lost lock is judged on).
  std::uint64_t swapped_bytes() const {
    return memory_.swapped_bytes + figures_.swapped_shmem_bytes;
  }
  // The full checks' figures (zero and "" when none ran for the current process).
  const TreeFigures& figures() const { return figures_; }
  // How much more the main process may lock before RLIMIT_MEMLOCK (soft limit - VmLck),
  // for a child that does not hold CAP_IPC_LOCK; kNoMemlockLimit when it holds it, the
  // limit is unlimited or unknown yet, or there is no process.
  static constexpr std::uint64_t kNoMemlockLimit = UINT64_MAX;
  std::uint64_t memlock_headroom_bytes() const;
  // Below this, and below a tenth of the limit, the headroom is low (warned, rate-limited).
  static constexpr std::uint64_t kLowHeadroomBytes = 1024 * 1024;
  // Whether every thread of every process carries the IO_FLUSHER flags; nullopt before the
  // first full check of every process, or without a process.
  std::optional<bool> io_flusher() const {
    if (!is_active() || !figures_.io_flusher_known) return std::nullopt;
    return figures_.threads > 0 && figures_.io_flusher_threads == figures_.threads;
  }
  // Its mlock asks io_flusher and some thread lacks the flags: trouble, acted on per
  // on_lock_lost as a lost lock is.
  bool io_flusher_missing() const { return spec_.mlock.io_flusher() && io_flusher() == false; }
  // Processes of its cgroups the OOM killer ended since this supervisor started it (or
  // adopted it), summed over its starts.
  std::uint64_t oom_kills() const { return oom_kills_; }
  // Every process of its tree (its cgroup), the main one first, as the last refresh saw
  // them; just the main one without a cgroup.
  const std::vector<TreeProcess>& processes() const { return processes_; }
  // Processes of the tree but the main one that ran unlocked for kTreeGrace or longer,
  // for a child that must be locked; else 0.
  unsigned unlocked_processes() const {
    return is_active() && must_be_locked() ? unlocked_processes_ : 0;
  }
  // How long a new process of the tree may run unlocked (an exec'd helper locks itself
  // again once its program is loaded) before that counts as a lost lock.
  static constexpr Clock::duration kTreeGrace = std::chrono::seconds(2);
  // in_trouble() of api/child_state.hpp (which counts failed and backoff), or a lost lock not yet
  // recovered, or its swap failed (a swapon that failed, a swapoff that refused a stop, its backend
  // died). A refused stop is trouble until the swap goes off: the operator asked for a stop.
  bool in_trouble() const {
    return lock_in_trouble() || swap_.state() == SwapState::Failed || !swap_refusal_.empty();
  }
  bool lock_in_trouble() const {
    return lock_lost_ || io_flusher_lost_ ||
           supervisor::in_trouble(TroubleFacts{
               state_, must_be_locked(), is_active() ? memory_.locked_bytes : 0, swapped_bytes(),
               unlocked_mappings(), unlocked_processes(), io_flusher_missing()});
  }
  // What the child itself reported, "" before any report.
  std::string lock_report_text() const;
  unsigned restarts() const { return restarts_; }
  // Exit code of the last process; -N when killed by signal N; 0 before any exit.
  int last_exit_status() const { return last_exit_status_; }
  // How the last process ended: kExitCodeExited, …Killed, …Dumped, …Unknown
  // (api/child_properties.hpp); "" before any exit.
  const std::string& last_exit_code() const { return last_exit_code_; }
  // Wall-clock microseconds: when the child entered its current state (when it was
  // configured, for one still in its first state), and when its last process ended (0
  // before any exit). Both survive a supervisor restart or re-exec.
  std::int64_t state_changed_at_us() const { return state_changed_at_us_; }
  std::int64_t exited_at_us() const { return exited_at_us_; }
  // How many times it lost its lock (check_lock() found it running unlocked, with pages
  // in swap, unlocked mappings or unlocked processes, after it had been locked or since
  // it became ready) since it was configured: counted across its restarts and kept
  // through a supervisor restart or re-exec. A lacking IO_FLUSHER is not counted.
  unsigned lock_losses() const { return lock_losses_; }
  // Why the child last failed ("exec /x: No such file or directory", "start timeout: no
  // lock report", "lock: Operation not permitted", "exited with status 3"), "" if none.
  // At the start limit, "start limit hit: more than N starts in S s; last: " and the
  // failure before it (the root cause), when there was one.
  const std::string& last_failure() const { return last_failure_; }

  // The swap it backs (child_swap.cpp): its configured device, else the one it named in
  // its readiness (kSwapDeviceField); "" when none (yet).
  std::string swap_device() const;
  const SwapControl& swap() const { return swap_; }
  // Why its last stop was refused (its swapoff failed) while the swap is still on; "".
  const std::string& swap_refusal() const { return swap_refusal_; }
  bool stop_refused_since(Clock::time_point t) const {
    return !swap_refusal_.empty() && stop_refused_at_ >= t;
  }
  // A fresh read of /proc/swaps, for its swap's figures.
  void update_swap(const std::vector<SwapArea>& areas);

 private:
  // The journal fields of a line about this child.
  LogFields about(std::string_view message_id = {}) const { return {name(), message_id}; }
  void spawn();
  void become_ready();
  void on_process_event();
  bool follow_tree(const ExitStatus& status);
  // What the full checks last read of one process of the tree.
  struct ProcessChecks {
    Clock::time_point first_seen{};
    std::optional<mlock::MemoryDetail> detail;
    std::optional<mlock::IoFlusherThreads> io_flusher;
  };
  void refresh_process(bool coverage);
  std::vector<TreeProcess> refresh_tree(bool coverage, const mlock::ProcessMemory& main);
  void read_checks(pid_t pid, bool coverage, bool first, ProcessChecks& checks);
  void sum_tree(const std::vector<mlock::ProcessMemory>& status);
  void sum_io_flusher();
  bool warn_inspect(const mlock::InspectError& error, bool smaps);
  void reset_figures();
  bool holds_ipc_lock() const;
  std::string lost_lock_details() const;
  std::string lock_failure_text(int error);
  void check_io_flusher();
  void check_headroom();
  void check_oom_kills();
  void note_exit(const ExitStatus& status);
  void on_exited(ExitStatus status);
  void on_exited_stopping(const std::string& how);
  void on_timer();
  void fail_start(const std::string& reason);
  void schedule_restart_or_settle(bool failure);
  bool start_limit_hit();
  void begin_stop();
  void signal_stop();
  void maybe_turn_swap_on();
  void on_swap_off(std::optional<std::string> error);
  void refuse_stop(const std::string& error);
  void finish_stop_waiters(const std::string& refusal);
  bool swap_died_with(ChildState was);
  void note_swap_device(const std::string& device);
  void adopt_swap(const SavedChild& saved);
  void send_signal(int signo);
  void set_state(ChildState state);
  void settle(ChildState state);
  void check_lock();
  void check_locked_readiness();
  void close_process();

  ChildContext ctx_;
  ChildSpec spec_;
  // Held apart, as a pointer and a vector: a thousand children each pay for what they use
  // (the daemon's heap is locked), not for an inline ChildSpec or a deque's first block.
  std::unique_ptr<ChildSpec> next_spec_;
  ChildState state_ = ChildState::Stopped;
  ProcessHandle process_;
  Timer timer_;  // start timeout, restart backoff or stop timeout, by state
  bool start_after_stop_ = false;
  bool automatic_restart_ = false;  // the pending start after stop is not an operator's
  bool start_settled_ = false;
  bool killed_ = false;         // SIGKILL already sent for this stop
  bool failing_start_ = false;  // stopping because the start failed: restart by policy

  std::vector<Clock::time_point> start_times_;  // at most start_limit_burst
  unsigned backoff_step_ = 0;
  Clock::time_point ready_since_{};
  unsigned restarts_ = 0;
  int last_exit_status_ = 0;
  std::string last_exit_code_;
  std::string last_failure_;
  std::int64_t state_changed_at_us_ = 0;
  std::int64_t exited_at_us_ = 0;
  unsigned lock_losses_ = 0;
  bool adopted_ = false;
  std::int64_t adopted_at_us_ = 0;
  std::int64_t started_at_us_ = 0;

  std::optional<mlock::MlockStatus> report_;
  std::string lock_failure_;  // "lock: <strerror>" from a failed report, for exit reasons
  duende::mlock::ProcessMemory memory_{};  // the sums over the tree
  std::vector<TreeProcess> processes_;
  std::vector<ProcessChecks> checks_;  // of processes_[i]
  TreeFigures figures_;
  unsigned unlocked_processes_ = 0;
  bool lock_lost_ = false;
  bool io_flusher_lost_ = false;
  bool headroom_low_ = false;
  RateLimit headroom_log_{std::chrono::minutes(10), 1};
  std::optional<std::uint64_t> oom_seen_;  // memory.events oom_kill at the last read
  std::uint64_t oom_kills_ = 0;
  bool inspect_warned_ = false;              // a /proc read failure was logged for this process
  Clock::time_point last_coverage_{};        // the last smaps coverage walk
  Clock::time_point last_report_refresh_{};  // the last /proc read for a report
  Clock::time_point report_window_{};        // flood detection: this second's datagrams
  unsigned datagrams_in_window_ = 0;
  RateLimit flood_log_{std::chrono::seconds(60), 1};

  SwapControl swap_;
  std::string reported_swap_device_;       // X_DUENDE_SWAP_DEVICE of the current process
  bool swap_tried_ = false;                // turned on (or tried) for the current process
  bool stop_pending_ = false;              // its swap is being turned off before the stop signal
  bool force_stop_ = false;                // that stop goes on even if swapoff fails
  bool restart_now_ = false;               // died with its swap on: restart whatever the policy
  Clock::time_point last_swap_restart_{};  // the last such restart without backoff
  std::vector<StopDone> stop_waiters_;
  std::string swap_refusal_;
  Clock::time_point stop_refused_at_{};
  bool in_refresh_ = false;
};

}  // namespace duende::supervisor
