// Every deadline of the core (start timeouts, restart backoff, stop timeouts, the monitor,
// the watchdog) in one queue, on the System's clock, behind one wake-up request: a
// thousand children cost no timer descriptor each, and a fake clock drives them all.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "os/system.hpp"

namespace duende::supervisor {

class Timer;

class TimerQueue {
 public:
  // Registers itself as `system`'s wake-up handler.
  explicit TimerQueue(System& system);
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  System& system() { return system_; }
  // Runs every timer that was armed and due when the call began, earliest first (ties in
  // the order they were armed), then asks the System to wake it for the next one. A timer
  // armed by a callback, even with a zero delay, waits for the next wake-up: one call does
  // a bounded amount of work, whatever the callbacks do.
  void run_due();
  // The earliest deadline, or Clock::time_point::max() when nothing is armed.
  Clock::time_point next_deadline() const;
  std::size_t armed_count() const { return queue_.size(); }

 private:
  friend class Timer;
  using Key = std::pair<Clock::time_point, std::uint64_t>;  // deadline, arming order
  Key insert(Clock::time_point when, Timer* timer);
  void erase(const Key& key);
  void rearm_wakeup();

  System& system_;
  std::map<Key, Timer*> queue_;
  std::vector<Key> due_;  // run_due()'s work list, kept to reuse its memory
  std::uint64_t sequence_ = 0;
  Clock::time_point requested_ = Clock::time_point::max();
  bool running_ = false;
};

// A one-shot or periodic deadline in a TimerQueue. Destroying it disarms it.
class Timer {
 public:
  Timer(TimerQueue& queue, std::function<void()> on_fire);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Fires once after `delay` (zero or negative: at the next run_due()), then every
  // `period` if that is non-zero. Re-arming replaces the previous schedule.
  void arm(Clock::duration delay, Clock::duration period = Clock::duration::zero());
  void disarm();
  bool armed() const { return armed_; }

 private:
  friend class TimerQueue;
  void fire();

  TimerQueue& queue_;
  std::function<void()> on_fire_;
  bool armed_ = false;
  TimerQueue::Key key_{};
  Clock::duration period_{};
};

}  // namespace duende::supervisor
