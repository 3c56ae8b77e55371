#include "core/child.hpp"

#include <signal.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <utility>

#include "core/child_environment.hpp"
#include "os/log.hpp"

namespace duende::supervisor {
namespace {

std::int64_t wall_us(System& system) {
  return std::chrono::duration_cast<std::chrono::microseconds>(system.wall_now().time_since_epoch())
      .count();
}

std::string exit_text(const ExitStatus& status) {
  return !status.known   ? std::string("exited, status unknown (adopted, and the kernel kept none)")
         : status.killed ? std::string("killed by signal ") + sigabbrev_np(status.code)
                         : "exited with status " + std::to_string(status.code);
}

constexpr const char* kStartLimitHit = "start limit hit: ";

const char* exit_code_text(const ExitStatus& status) {
  return !status.known   ? kExitCodeUnknown
         : status.dumped ? kExitCodeDumped
         : status.killed ? kExitCodeKilled
                         : kExitCodeExited;
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g s", s);
  return buf;
}

}  // namespace

Child::Child(ChildContext context, ChildSpec spec)
    : ctx_(context),
      spec_(std::move(spec)),
      timer_(ctx_.timers, [this] { on_timer(); }),
      swap_(
          ctx_.system, ctx_.timers, spec_.name,
          [this] { ctx_.listener.on_child_event(*this, ChildListener::Event::Changed); },
          [this](std::optional<std::string> error) { on_swap_off(std::move(error)); }) {
  state_changed_at_us_ = wall_us(ctx_.system);
}

Child::~Child() {
  if (process_.valid()) ctx_.system.release(process_, true);
}

void Child::set_state(ChildState state) {
  if (state_ == state) return;
  state_ = state;
  state_changed_at_us_ = wall_us(ctx_.system);
  ctx_.listener.on_child_event(*this, ChildListener::Event::Changed);
}

void Child::settle(ChildState state) {
  timer_.disarm();
  start_settled_ = true;
  set_state(state);
  ctx_.listener.on_child_event(*this, ChildListener::Event::Settled);
}

void Child::start(bool manual) {
  if (state_ == ChildState::Starting || state_ == ChildState::Running) return;
  if (state_ == ChildState::Stopping && is_active()) {
    start_after_stop_ = true;
    return;
  }
  if (manual) {
    start_times_.clear();
    backoff_step_ = 0;
  }
  timer_.disarm();
  if (start_limit_hit()) {
    const std::string limit = std::string(kStartLimitHit) + "more than " +
                              std::to_string(spec_.start_limit_burst) + " starts in " +
                              seconds_text(spec_.start_limit_interval_sec);
    // Giving up on a backend whose swap is still on hangs every process with a page
    // there for good: it is started again (with its backoff), past any limit.
    if (spec_.swap && swap_.active()) {
      log_critical(about(kMessageIdSwapBackendLost), name() + ": " + limit + ", but its swap on " +
                                                         swap_.device() +
                                                         " is still on: starting it anyway");
    } else {
      // The failure that led here is the root cause an operator needs: kept in the text.
      const std::string cause = last_failure_.rfind(kStartLimitHit, 0) == 0 ? "" : last_failure_;
      last_failure_ = limit + (cause.empty() ? "" : "; last: " + cause);
      log_error(about(kMessageIdStartFailed),
                name() + ": " + limit + "; not restarting until asked" +
                    (cause.empty() ? "" : "; last failure: " + cause));
      settle(ChildState::Failed);
      return;
    }
  }
  spawn();
}

bool Child::start_limit_hit() {
  const auto now = ctx_.system.now();
  const auto window = seconds(spec_.start_limit_interval_sec);
  start_times_.erase(std::remove_if(start_times_.begin(), start_times_.end(),
                                    [&](Clock::time_point t) { return now - t > window; }),
                     start_times_.end());
  if (start_times_.size() >= spec_.start_limit_burst) return true;
  start_times_.push_back(now);
  return false;
}

void Child::spawn() {
  SpawnRequest req;
  req.argv = spec_.exec;
  req.env = child_environment(spec_, ctx_.notify_socket, ctx_.preload_path,
                              spec_.uid ? ctx_.system.user_home(*spec_.uid) : "");
  req.working_directory = spec_.working_directory;
  req.uid = spec_.uid;
  req.gid = spec_.gid;
  req.supplementary_groups = spec_.supplementary_groups;
  req.oom_score_adj = spec_.oom_score_adj;
  req.ambient_ipc_lock = must_be_locked();
  req.forbid_swap = must_be_locked();
  // "infinity" matters only to a child without CAP_IPC_LOCK: one that holds it (root, or
  // ambient) ignores the limit, and raising it needs CAP_SYS_RESOURCE we may not have.
  if (spec_.limit_memlock)
    req.memlock_limit = static_cast<rlim_t>(*spec_.limit_memlock);
  else if (!holds_ipc_lock())
    req.memlock_limit = RLIM_INFINITY;
  auto spawned = ctx_.system.spawn(req, name(), [this] { on_process_event(); });
  report_.reset();
  ready_since_ = {};  // a backoff reset is earned by this process staying ready
  last_coverage_ = last_report_refresh_ = {};
  lock_failure_.clear();
  inspect_warned_ = false;
  reset_figures();
  lock_lost_ = io_flusher_lost_ = headroom_low_ = false;
  oom_seen_ = 0;  // a new cgroup
  killed_ = false;
  reported_swap_device_.clear();
  swap_tried_ = false;
  swap_refusal_.clear();
  swap_.new_backend();
  if (!spawned) {
    note_exit(ExitStatus{false, 127});
    fail_start(spawned.error().message());
    return;
  }
  process_ = *spawned;
  adopted_ = false;
  started_at_us_ = wall_us(ctx_.system);
  ctx_.system.store_handle(stored_handle_name(), process_);
  log_info(about(), name() + ": started, pid " + std::to_string(process_.pid));
  set_state(ChildState::Starting);
  ctx_.listener.on_child_event(*this, ChildListener::Event::Changed);  // pid changed
  if (spec_.ready == Readiness::Exec) {
    become_ready();
    return;
  }
  timer_.arm(seconds(spec_.start_timeout_sec));
}

void Child::become_ready() {
  timer_.disarm();
  ready_since_ = ctx_.system.now();
  start_settled_ = true;
  log_info(about(), name() + ": ready" +
                        (report_ ? ", " + duende::supervisor::lock_report_text(*report_) : ""));
  set_state(ChildState::Running);
  ctx_.listener.on_child_event(*this, ChildListener::Event::Ready);
  // Its swap goes on once /proc shows it locked: read now rather than at the next tick.
  if (spec_.swap && memory_.locked_bytes == 0 && !in_refresh_) refresh_memory(false);
  maybe_turn_swap_on();
}

void Child::fail_start(const std::string& reason) {
  last_failure_ = reason;
  log_error(about(kMessageIdStartFailed), name() + ": failed to start: " + reason);
  if (is_active()) {  // still running (a start timeout, a failed lock): end it first
    failing_start_ = true;
    begin_stop();
    return;
  }
  schedule_restart_or_settle(true);
}

void Child::schedule_restart_or_settle(bool failure) {
  // A backend that died with its swap on comes back whatever its exit status and restart
  // policy: at once the first time in restart_max_sec, after its backoff after that (a
  // backend that cannot start is retried, never in a tight loop, and never given up).
  const bool swap_lost = std::exchange(restart_now_, false);
  const Clock::time_point now_at = ctx_.system.now();
  const bool now = swap_lost && (last_swap_restart_ == Clock::time_point{} ||
                                 now_at - last_swap_restart_ >= seconds(spec_.restart_max_sec));
  if (now) last_swap_restart_ = now_at;
  const bool restart = swap_lost || spec_.restart == RestartPolicy::Always ||
                       (spec_.restart == RestartPolicy::OnFailure && failure);
  if (next_spec_ || start_after_stop_) {  // a reload, an operator or a lost lock
    if (next_spec_) spec_ = std::move(*next_spec_);
    next_spec_.reset();
    start_after_stop_ = false;
    start(!automatic_restart_);  // an automatic restart keeps the start limit counting
    automatic_restart_ = false;
    return;
  }
  if (!restart) {
    settle(failure ? ChildState::Failed : ChildState::Exited);
    return;
  }
  // A child that stayed ready for restart_max_sec has earned a fresh backoff.
  if (ready_since_ != Clock::time_point{} &&
      ctx_.system.now() - ready_since_ >= seconds(spec_.restart_max_sec))
    backoff_step_ = 0;
  const double delay =
      now ? 0 : std::min(spec_.restart_sec * std::pow(2.0, backoff_step_), spec_.restart_max_sec);
  ++backoff_step_;
  ++restarts_;
  start_settled_ = true;
  log_notice(about(), name() + ": restarting in " + seconds_text(delay) + " (restart " +
                          std::to_string(restarts_) + ")");
  set_state(ChildState::Backoff);
  timer_.arm(seconds(delay));
}

void Child::on_process_event() {
  const std::optional<ExitStatus> status = ctx_.system.reap(process_);
  if (status && !follow_tree(*status)) on_exited(*status);
}

// The main process ended but its cgroup still has processes (a daemon that forked and let
// its parent exit, workers outliving their master): the child runs on, as the oldest of
// them, whose pid becomes the child's. While stopping, what is left is killed at once.
bool Child::follow_tree(const ExitStatus& status) {
  if (process_.cgroup.empty()) return false;
  if (state_ == ChildState::Stopping) {
    int group_error = 0;
    ctx_.system.signal(process_, SIGKILL, group_error);
  }
  auto next = ctx_.system.follow(process_, [this] { on_process_event(); });
  if (!next) return false;
  const pid_t before = process_.pid;
  ctx_.system.release(process_, false);
  process_ = std::move(*next);
  note_exit(status);
  log(state_ == ChildState::Stopping ? LogLevel::Info : LogLevel::Notice, about(),
      name() + ": main process " + std::to_string(before) + " " + exit_text(status) +
          "; its cgroup still has processes: following pid " + std::to_string(process_.pid) +
          (state_ == ChildState::Stopping ? " until the rest is killed" : ""));
  ctx_.system.store_handle(stored_handle_name(), process_);
  ctx_.listener.on_child_event(*this, ChildListener::Event::Changed);  // its pid
  if (state_ != ChildState::Stopping) refresh_memory(false);
  return true;
}

void Child::close_process() {
  // Its pidfd stays in the service manager's store until the next start replaces it: one
  // message per start, not two (a stale one is recognised as exited on adoption).
  ctx_.system.release(process_, false);
  reset_figures();
}

void Child::note_exit(const ExitStatus& status) {
  last_exit_status_ = status.as_int();
  last_exit_code_ = exit_code_text(status);
  exited_at_us_ = wall_us(ctx_.system);
}

void Child::on_exited(ExitStatus status) {
  const ChildState was = state_;
  const std::string how = exit_text(status);
  const int exit_status = status.as_int();
  check_oom_kills();  // before its cgroup goes: the OOM killer may be why it ended
  const bool swap_lost = swap_died_with(was);
  close_process();
  note_exit(status);
  timer_.disarm();
  ctx_.listener.on_child_event(*this, ChildListener::Event::Changed);
  if (stop_pending_) {  // it died while its swap was being turned off
    stop_pending_ = force_stop_ = false;
    finish_stop_waiters("");
    return on_exited_stopping(how);
  }
  if (swap_lost) restart_now_ = true;
  if (was == ChildState::Stopping) return on_exited_stopping(how);
  const bool before_ready = was == ChildState::Starting;
  std::string reason = how;
  if (before_ready) reason += " before it was ready";
  if (!lock_failure_.empty()) reason += " (" + lock_failure_ + ")";
  log(exit_status == 0 && !before_ready ? LogLevel::Notice : LogLevel::Error,
      about(before_ready ? kMessageIdStartFailed : std::string_view()), name() + ": " + reason);
  if (exit_status != 0 || before_ready) last_failure_ = reason;
  schedule_restart_or_settle(exit_status != 0 || before_ready);
}

void Child::on_exited_stopping(const std::string& how) {
  if (failing_start_) {  // we ended a start that failed: restart by policy
    failing_start_ = false;
    log_info(about(), name() + ": ended (" + how + ")");
    schedule_restart_or_settle(true);
    return;
  }
  log_info(about(), name() + ": stopped (" + how + ")");
  if (start_after_stop_ || next_spec_)
    schedule_restart_or_settle(false);
  else
    settle(ChildState::Stopped);
}

void Child::on_timer() {
  switch (state_) {
    case ChildState::Starting:
      fail_start(
          spec_.ready == Readiness::Notify
              ? "start timeout: no READY=1 within " + seconds_text(spec_.start_timeout_sec)
              : "start timeout: not locked within " + seconds_text(spec_.start_timeout_sec) +
                    (report_ ? " (reported " + duende::supervisor::lock_report_text(*report_) + ")"
                             : " (no lock report: is preload on, or does the program "
                               "link libduende-mlock?)"));
      break;
    case ChildState::Backoff:
      start(false);
      break;
    case ChildState::Stopping:
      if (!killed_) {
        log_warning(about(), name() + ": did not stop within " +
                                 seconds_text(spec_.stop_timeout_sec) + "; sending SIGKILL");
        killed_ = true;
        send_signal(SIGKILL);
      }
      break;
    default:
      break;
  }
}

}  // namespace duende::supervisor
