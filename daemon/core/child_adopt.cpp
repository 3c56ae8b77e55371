// The half of Child that outlives a supervisor: taking a child back from the state an
// earlier supervisor process left (adopt, restore) and what that state keeps (saved).
#include "core/child.hpp"
#include "os/log.hpp"

namespace duende::supervisor {
namespace {

std::int64_t wall_us(System& system) {
  return std::chrono::duration_cast<std::chrono::microseconds>(system.wall_now().time_since_epoch())
      .count();
}

}  // namespace

bool Child::adopt(const SavedChild& saved, int fd) {
  auto adopted =
      ctx_.system.adopt(Adoption{saved.pid, saved.start_time, fd}, [this] { on_process_event(); });
  if (!adopted) {
    log_notice(about(),
               name() + ": not adopting pid " + std::to_string(saved.pid) + ": " + adopted.error());
    return false;
  }
  process_ = *adopted;
  restore(saved);
  adopted_ = true;
  adopted_at_us_ = wall_us(ctx_.system);
  started_at_us_ = saved.started_at_us;
  report_.reset();
  // What it reported is not said again: a "locked" readiness still waiting for /proc to
  // agree must not wait for a second report that never comes.
  if (const auto report = mlock::parse_lock_report(saved.lock_report); report && *report)
    report_ = **report;
  reset_figures();
  lock_lost_ = io_flusher_lost_ = headroom_low_ = false;
  oom_seen_.reset();  // what its cgroup counted before is the earlier supervisor's
  killed_ = false;
  inspect_warned_ = false;
  last_coverage_ = last_report_refresh_ = {};
  ctx_.system.store_handle(stored_handle_name(), process_);
  adopt_swap(saved);
  refresh_memory(true);  // its figures now, before anything is decided on them
  const ChildState adopted_as =
      saved.state == ChildState::Stopping || saved.state == ChildState::Starting
          ? saved.state
          : ChildState::Running;
  log_notice(about(), name() + ": adopted pid " + std::to_string(process_.pid) + " (" +
                          to_string(adopted_as) + ", VmLck " +
                          std::to_string(memory_.locked_bytes / 1024) + " KiB)");
  switch (adopted_as) {
    case ChildState::Stopping:  // it was being stopped: finish that
      start_after_stop_ = saved.then_start;
      begin_stop();
      break;
    case ChildState::Starting:
      set_state(ChildState::Starting);
      // Its readiness may have been sent to the supervisor that died, and is not sent
      // again: for "locked", /proc is the proof (VmLck > 0); for "notify", wait again.
      if (spec_.ready == Readiness::Exec ||
          (spec_.ready == Readiness::Locked && (!must_be_locked() || memory_.locked_bytes > 0)))
        become_ready();
      else
        timer_.arm(seconds(spec_.start_timeout_sec));
      break;
    default:
      ready_since_ = ctx_.system.now();
      start_settled_ = true;
      set_state(ChildState::Running);
      ctx_.listener.on_child_event(*this, ChildListener::Event::Ready);
      check_lock();  // verified now, not at the next tick
      break;
  }
  // Still in the state the earlier supervisor saw it enter: since then, not since now.
  if (state_ == saved.state && saved.state_changed_at_us > 0)
    state_changed_at_us_ = saved.state_changed_at_us;
  ctx_.listener.on_child_event(*this, ChildListener::Event::Changed);  // its pid
  return true;
}

bool Child::restore(const SavedChild& saved) {
  restarts_ = saved.restarts;
  backoff_step_ = saved.backoff_step;
  last_exit_status_ = saved.last_exit_status;
  last_exit_code_ = saved.last_exit_code;
  last_failure_ = saved.last_failure;
  exited_at_us_ = saved.exited_at_us;
  lock_losses_ = saved.lock_losses;
  if (saved.state == state_ && saved.state_changed_at_us > 0)
    state_changed_at_us_ = saved.state_changed_at_us;
  ctx_.listener.on_child_event(*this, ChildListener::Event::Changed);
  if (saved.pid == 0 && saved.state == ChildState::Stopped) {
    settle(ChildState::Stopped);
    return false;
  }
  return true;
}

SavedChild Child::saved() const {
  SavedChild s;
  s.name = name();
  s.pid = process_.valid() ? process_.pid : 0;
  s.start_time = process_.valid() ? process_.start_time : 0;
  s.definition = definition_hash(spec_);
  s.state = state_;
  s.restarts = restarts_;
  s.backoff_step = backoff_step_;
  s.last_exit_status = last_exit_status_;
  s.last_exit_code = last_exit_code_;
  s.last_failure = last_failure_;
  s.state_changed_at_us = state_changed_at_us_;
  s.exited_at_us = exited_at_us_;
  s.lock_losses = lock_losses_;
  s.locked = is_locked();
  if (report_) s.lock_report = mlock::format_lock_report(*report_);
  s.started_at_us = started_at_us();
  s.adopted_at_us = adopted_at_us();
  s.stop_signal = spec_.stop_signal;
  s.stop_timeout_sec = spec_.stop_timeout_sec;
  s.command = spec_.exec;
  s.then_start = start_after_stop_ || next_spec_ != nullptr;
  s.swap_device = swap_.device();
  s.swap_active = swap_.active();
  return s;
}

}  // namespace duende::supervisor
