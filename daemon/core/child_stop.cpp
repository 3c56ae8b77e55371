// The part of Child that stops it: its swap off first (child_swap.cpp), then its stop
// signal, SIGKILL at the stop timeout; restarts and a reload's new definition go through it.
#include <signal.h>

#include <cerrno>
#include <cstring>

#include "core/child.hpp"
#include "os/log.hpp"

namespace duende::supervisor {

// Its swap off first (child_swap.cpp), then signal_stop().
void Child::begin_stop() {
  if (stop_pending_) return;  // its swap is being turned off: the signal follows
  if (spec_.swap && swap_.turn_off()) {
    stop_pending_ = true;
    log_notice(about(),
               name() + ": turning its swap on " + swap_.device() + " off before the stop");
    return;
  }
  signal_stop();
}

// Its stop signal now, SIGKILL at the stop timeout (on_timer()).
void Child::signal_stop() {
  force_stop_ = false;
  killed_ = false;
  set_state(ChildState::Stopping);
  send_signal(spec_.stop_signal);
  timer_.arm(seconds(spec_.stop_timeout_sec));
  finish_stop_waiters("");
}

void Child::send_signal(int signo) {
  if (!process_.valid()) return;
  // The whole process group first (the child's own helpers), then the child through its
  // handle, which cannot hit a recycled pid.
  int group_error = 0;
  const int error = ctx_.system.signal(process_, signo, group_error);
  const std::string pid = std::to_string(process_.pid);
  if (error != 0)
    log_warning(
        about(),
        name() + ": cannot send " + sigabbrev_np(signo) + " to pid " + pid + ": " +
            std::strerror(error) +
            (error == EPERM ? " (the supervisor needs CAP_KILL for another user's child)" : ""));
  else if (group_error != 0)
    log_warning(about(), name() + ": cannot signal process group " + pid + ": " +
                             std::strerror(group_error));
}

void Child::stop(bool force, StopDone done) {
  start_after_stop_ = false;
  automatic_restart_ = false;
  next_spec_.reset();
  if (done) stop_waiters_.push_back(std::move(done));
  if (force) force_stop_ = true;
  switch (state_) {
    case ChildState::Starting:
    case ChildState::Running:
      begin_stop();
      return;  // the waiters are told by signal_stop() or refuse_stop()
    default:
      break;
  }
  switch (state_) {
    case ChildState::Backoff:
      settle(ChildState::Stopped);
      break;
    case ChildState::Stopping:
      failing_start_ = false;  // an operator's stop: no restart after this one
      break;
    case ChildState::Failed:
    case ChildState::Exited:
      settle(ChildState::Stopped);
      break;
    case ChildState::Stopped:
    case ChildState::Starting:
    case ChildState::Running:
      break;
  }
  force_stop_ = false;
  finish_stop_waiters("");
}

void Child::restart(bool manual, StopDone done) {
  if (state_ == ChildState::Starting || state_ == ChildState::Running ||
      state_ == ChildState::Stopping) {
    stop(false, std::move(done));  // a refused stop clears start_after_stop_ again
    start_after_stop_ = true;
    automatic_restart_ = !manual;
    if (!manual) ++restarts_;
    return;
  }
  start(manual);
  if (done) done("");
}

void Child::replace_spec(ChildSpec spec) {
  if (!is_active()) {
    // A child an operator stopped stays stopped; one that failed or is waiting to
    // restart gets its new definition at once.
    spec_ = std::move(spec);
    ctx_.listener.on_child_event(*this, ChildListener::Event::Changed);  // its Command
    if (state_ != ChildState::Stopped) start(true);
    return;
  }
  stop();
  next_spec_ = std::make_unique<ChildSpec>(std::move(spec));
}

}  // namespace duende::supervisor
