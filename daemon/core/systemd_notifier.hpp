// The supervisor's own messages to systemd (sd_notify): READY, STATUS, RELOADING,
// STOPPING, and WATCHDOG keep-alives sent from the event loop, so they prove it runs.
// Sent through the System, never blocking, and never lost to a full queue:
//   - READY=1, RELOADING=1, STOPPING=1 are queued in order and retried every
//     kRetryInterval while systemd's notify queue is full (EAGAIN), until sent;
//   - a WATCHDOG=1 that finds the queue full is retried the same way (one pending at most);
//   - STATUS= is coalesced: the line is computed when it is sent, at most once per
//     kStatusInterval, and only when it changed; the last one is always delivered.
// Other errors (no service manager listening) are logged, rate-limited, and dropped.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "core/timer_queue.hpp"
#include "os/log.hpp"
#include "os/system.hpp"

namespace duende::supervisor {

class SystemdNotifier {
 public:
  static constexpr Clock::duration kStatusInterval = std::chrono::milliseconds(250);
  static constexpr Clock::duration kRetryInterval = std::chrono::milliseconds(50);

  // `status_line` computes the current STATUS= text. Starts the watchdog timer when
  // systemd asked for one (System::watchdog_period()): keep-alives at half the period.
  SystemdNotifier(System& system, TimerQueue& timers, std::function<std::string()> status_line);

  void ready();
  // The status may have changed: a STATUS= goes out soon (coalesced, see above).
  void status_changed();
  // RELOADING=1 with MONOTONIC_USEC, as systemd 253+ expects; harmless for 252.
  void reloading();
  void stopping();
  // The end: sends the current STATUS= at once (if it changed) and whatever is queued,
  // then calls `done`: at once when everything went out, else after retrying for at most
  // kDrainTimeout (a service manager that never reads must not keep the process alive).
  void drain(std::function<void()> done);
  static constexpr Clock::duration kDrainTimeout = std::chrono::seconds(2);
  // Messages waiting for room in systemd's queue.
  std::size_t pending() const { return queue_.size() + (watchdog_pending_ ? 1 : 0); }

 private:
  void enqueue(std::string message);
  void flush();
  void send_status();
  // 0 when sent; the errno otherwise (logged unless EAGAIN).
  int send(const std::string& text);

  System& system_;
  std::function<std::string()> status_line_;
  std::unique_ptr<Timer> watchdog_;
  Timer retry_;   // the queue was full: try again
  Timer status_;  // a coalesced STATUS= is due
  std::deque<std::string> queue_;
  bool watchdog_pending_ = false;
  bool status_dirty_ = false;
  std::string last_status_;
  std::function<void()> drained_;  // drain()'s `done`, until called
  Clock::time_point drain_deadline_{};
  Clock::time_point last_status_sent_{};
  RateLimit warn_limit_{std::chrono::seconds(60), 3};
};

}  // namespace duende::supervisor
