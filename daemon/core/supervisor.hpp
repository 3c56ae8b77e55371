// The supervisor core: the set of children, their start and stop ordering, the monitor
// that verifies locks from /proc, the children's notify socket, reload and shutdown, and
// what systemd is told. It knows nothing of D-Bus: an observer reads it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/child_state.hpp"
#include "config/config.hpp"
#include "core/child.hpp"
#include "core/saved_state.hpp"
#include "core/systemd_notifier.hpp"
#include "core/timer_queue.hpp"
#include "os/log.hpp"
#include "os/notify_socket.hpp"
#include "os/system.hpp"

namespace duende::supervisor {

// Told about every observable change; the D-Bus adaptor implements it. Calls come from
// the event loop, after the change.
class SupervisorObserver {
 public:
  virtual void child_added(const Child& child) = 0;
  virtual void child_removed(const std::string& name) = 0;
  virtual void child_changed(const Child& child) = 0;
  virtual void lock_lost(const Child& child) = 0;
  // Its process ended while the swap it backs was on (logged at crit).
  virtual void swap_backend_lost(const Child& child) = 0;
  virtual void manager_changed() = 0;

 protected:
  ~SupervisorObserver() = default;
};

// Why an operator's request was refused.
struct ActionError {
  // SwapBusy: a stop refused because the child's swap could not be turned off.
  enum class Kind { NoSuchChild, InvalidState, ConfigInvalid, SwapBusy };
  Kind kind;
  std::string message;
};

class Supervisor final : public ChildListener {
 public:
  using Loader = std::function<ConfigResult()>;

  // `loader` re-reads the configuration on reload. `notify_socket` is the path children
  // get as NOTIFY_SOCKET (the caller binds it and passes what arrives to on_datagram()).
  // Every deadline and every process goes through `system`.
  Supervisor(System& system, Config config, Loader loader, std::string notify_socket,
             std::string preload_path);
  ~Supervisor();

  // Starts every child in `after` order. READY=1 goes to systemd once each has become
  // ready or failed its first start. With `saved` (the state file an earlier supervisor
  // left: after a crash, a restart or a re-exec), first adopts every child still running
  // as it was (core/supervisor_adopt.cpp): only the others are started, those whose
  // definition changed meanwhile are restarted, those no longer configured are stopped.
  void start(std::optional<SavedState> saved = std::nullopt);
  // Writes the state file for a re-exec: every child's pidfd and `notify_fd` are kept open
  // across execve() and named in it. Returns 0 or the errno of the write.
  // abort_reexec() undoes the keeping when execve() failed.
  int prepare_reexec(int notify_fd);
  void abort_reexec();
  // Wall-clock microseconds when this supervisor process started (kept across re-execs),
  // the starts since the last clean stop that adopted a previous process's children, and
  // the re-execs in place.
  std::int64_t started_at_us() const { return started_at_us_; }
  unsigned supervisor_restarts() const { return restarts_; }
  unsigned reexecs() const { return reexecs_; }
  // Some child's swap helper (mkswap, swapon, swapoff) runs: a re-exec now would lose it
  // and the stop waiting for it.
  bool swap_busy() const;
  // Stops every child in reverse `after` order, then calls the on_finished callback.
  void shutdown();
  // Called once, when shutdown() has stopped every child.
  void set_on_finished(std::function<void()> on_finished) { on_finished_ = std::move(on_finished); }
  bool finished() const { return finished_; }

  // A datagram that arrived on the children's notify socket: acted on when its sender is
  // the process of a child, else dropped with a rate-limited log line.
  void on_datagram(const Datagram& datagram);
  // Re-reads the configuration. Invalid: nothing changes, every problem is logged and
  // returned. Valid: removed children stop, added ones start, changed ones restart,
  // unchanged ones are left alone.
  duende::mlock::Result<void, ActionError> reload();

  // An operator's start, stop or restart. An error returned is at once (no such child, a
  // state that does not allow it); then `done` is not called. Otherwise `done` (if any)
  // is called exactly once, perhaps before the return: with success once the stop has
  // begun (its swap off first, see Child::stop()), or SwapBusy when the swap could not be
  // turned off and the child keeps running. `force`: stopped even then (also while the
  // supervisor is stopping, whose own stop of that child is refused the same way).
  using ActionDone = std::function<void(duende::mlock::Result<void, ActionError>)>;
  duende::mlock::Result<void, ActionError> start_child(const std::string& name);
  duende::mlock::Result<void, ActionError> stop_child(const std::string& name, bool force = false,
                                                      ActionDone done = {});
  duende::mlock::Result<void, ActionError> restart_child(const std::string& name,
                                                         ActionDone done = {});
  // A shutdown whose stop of a child was refused tries again after this.
  static constexpr Clock::duration kStopRetry = std::chrono::seconds(10);

  void set_observer(SupervisorObserver* observer) { observer_ = observer; }
  ManagerState state() const { return state_; }
  const std::map<std::string, std::unique_ptr<Child>>& children() const { return children_; }
  const Child* find(const std::string& name) const;
  // How children's processes are kept together (cgroups, or process groups and why).
  const ProcessTracking& process_tracking() const { return tracking_; }
  // The running settings; its `children` is empty: each Child holds its own definition.
  const Config& config() const { return config_; }
  // Children running, children with VmLck > 0, and the sum of their VmLck.
  struct Totals {
    std::size_t running = 0;
    std::size_t locked = 0;
    std::uint64_t locked_bytes = 0;
  };
  Totals totals() const;
  // The one-line summary sent as STATUS=.
  std::string status_line() const;

  void on_child_event(Child& child, Event event) override;

  // Destroys children that a reload removed. Call from outside any child callback (the
  // loop's before-sleep hook): a child cannot be destroyed from inside its own handler.
  void collect_garbage();

 private:
  void adopt_children(SavedState saved);
  void save_state();
  SavedSupervisor saved_supervisor() const;
  SavedChild saved_child(const Child& child) const;
  void write_state(const std::string& key, const std::string& text,
                   std::optional<std::size_t>& written);
  void start_due_children();
  void schedule_pass();
  void run_pass();
  bool may_start(const Child& child) const;
  void stop_due_children();
  void on_monitor_tick();
  void arm_monitor();
  void update_state();
  void remove_retired();
  void apply(Config next);
  duende::mlock::Unexpected<ActionError> refuse_reload(ManagerState before, std::string status,
                                                       std::string message);
  void end_reload(ManagerState before);
  Child* child_by_pid(pid_t pid);
  ChildContext context();
  duende::mlock::Result<Child*, ActionError> lookup(const std::string& name,
                                                    bool stopping_ok = false);
  void update_swaps();

  System& system_;
  TimerQueue timers_;  // first in, last out: every Timer below lives in it
  Config config_;
  Loader loader_;
  std::string notify_socket_;
  std::string preload_path_;
  SystemdNotifier systemd_;
  Timer monitor_;
  Timer pass_;        // the next pass over the children: see on_child_event()
  Timer stop_retry_;  // a shutdown's next try at a stop that was refused
  Clock::time_point last_full_check_{};
  std::map<std::string, std::unique_ptr<Child>> children_;
  std::set<std::string> pending_start_;            // to start once their `after` children allow
  std::set<std::string> retiring_;                 // removed by a reload, stopping, then erased
  std::vector<std::unique_ptr<Child>> graveyard_;  // erased, awaiting collect_garbage()
  ManagerState state_ = ManagerState::Starting;
  bool ready_sent_ = false;
  bool shutting_down_ = false;
  // Shutdown's reverse order: the children ordered after each child (stop_due_children).
  std::vector<std::pair<Child*, std::vector<Child*>>> dependents_;
  bool pids_changed_ = true;  // by_pid_ must be rebuilt
  ProcessTracking tracking_;  // decided by the System at start
  std::unordered_map<pid_t, Child*> by_pid_;
  std::unordered_map<std::string, Child*> by_cgroup_;  // rebuilt with by_pid_
  bool finishing_ = false;  // every child stopped: telling systemd, then finished_
  bool finished_ = false;
  std::function<void()> on_finished_;
  std::string reload_failure_;  // shown in STATUS= until a reload succeeds
  SupervisorObserver* observer_ = nullptr;
  std::int64_t started_at_us_ = 0;
  unsigned restarts_ = 0;
  unsigned reexecs_ = 0;
  std::string boot_id_;
  // The state directory: a hash of what each file holds, and which may be out of date.
  bool supervisor_dirty_ = true;
  std::optional<std::size_t> saved_supervisor_;
  std::set<std::string> dirty_children_;
  std::map<std::string, std::optional<std::size_t>> saved_children_;
  RateLimit save_log_limit_{std::chrono::seconds(60), 1};
  RateLimit stray_log_limit_{std::chrono::seconds(10), 5};
};

}  // namespace duende::supervisor
