#include "core/timer_queue.hpp"

namespace duende::supervisor {

TimerQueue::TimerQueue(System& system) : system_(system) {
  system_.set_wakeup_handler([this] { run_due(); });
}

TimerQueue::~TimerQueue() {
  system_.set_wakeup_handler({});
  system_.wake_at(Clock::time_point::max());
}

TimerQueue::Key TimerQueue::insert(Clock::time_point when, Timer* timer) {
  const Key key{when, sequence_++};
  queue_.emplace(key, timer);
  if (!running_) rearm_wakeup();
  return key;
}

void TimerQueue::erase(const Key& key) {
  queue_.erase(key);
  if (!running_) rearm_wakeup();
}

Clock::time_point TimerQueue::next_deadline() const {
  return queue_.empty() ? Clock::time_point::max() : queue_.begin()->first.first;
}

void TimerQueue::rearm_wakeup() {
  const Clock::time_point next = next_deadline();
  if (next == requested_) return;
  requested_ = next;
  system_.wake_at(next);
}

void TimerQueue::run_due() {
  if (running_) return;
  running_ = true;
  requested_ = Clock::time_point::min();  // whatever was asked for has happened
  // However a callback leaves (even by an exception), the queue asks for its next wake-up.
  struct Rearm {
    TimerQueue& q;
    ~Rearm() {
      q.running_ = false;
      q.rearm_wakeup();
    }
  } rearm{*this};
  // Bounded by what was due when the round began: a timer a callback arms, even for now,
  // runs at the next wake-up (the next loop round), so no callback can keep the loop here.
  const Clock::time_point now = system_.now();
  due_.clear();
  for (auto it = queue_.begin(); it != queue_.end() && it->first.first <= now; ++it)
    due_.push_back(it->first);
  for (const Key& key : due_) {
    const auto it = queue_.find(key);  // gone: an earlier callback disarmed or re-armed it
    if (it == queue_.end()) continue;
    Timer* timer = it->second;
    queue_.erase(it);
    timer->fire();
  }
}

Timer::Timer(TimerQueue& queue, std::function<void()> on_fire)
    : queue_(queue), on_fire_(std::move(on_fire)) {}

Timer::~Timer() { disarm(); }

void Timer::arm(Clock::duration delay, Clock::duration period) {
  disarm();
  const Clock::duration d = delay > Clock::duration::zero() ? delay : Clock::duration::zero();
  period_ = period > Clock::duration::zero() ? period : Clock::duration::zero();
  key_ = queue_.insert(queue_.system().now() + d, this);
  armed_ = true;
}

void Timer::disarm() {
  if (!armed_) return;
  armed_ = false;
  queue_.erase(key_);
}

void Timer::fire() {
  // Already out of the queue. A periodic timer goes back in before its callback runs, so
  // the callback may disarm or re-arm it.
  if (period_ > Clock::duration::zero()) {
    key_ = queue_.insert(key_.first + period_, this);
    // Fell behind by more than a period (a stalled loop): catch up without a burst.
    const Clock::time_point now = queue_.system().now();
    if (key_.first <= now) {
      queue_.erase(key_);
      key_ = queue_.insert(now + period_, this);
    }
  } else {
    armed_ = false;
  }
  on_fire_();
}

}  // namespace duende::supervisor
