// The supervisor's own messages to systemd (sd_notify): READY, STATUS, RELOADING,
// STOPPING, and WATCHDOG keep-alives sent from the event loop, so they prove it runs.
// Sent through the System, never blocking.
#pragma once

#include <memory>
#include <string>

#include "core/timer_queue.hpp"
#include "os/log.hpp"
#include "os/system.hpp"

namespace duende::supervisor {

class SystemdNotifier {
 public:
  // Starts the watchdog timer when systemd asked for one (System::watchdog_period()):
  // keep-alives go out at half the period.
  SystemdNotifier(System& system, TimerQueue& timers);

  void ready();
  // Sends STATUS= only when `line` differs from the last one sent.
  void status(const std::string& line);
  // RELOADING=1 with MONOTONIC_USEC, as systemd 253+ expects; harmless for 252.
  void reloading();
  void stopping();

 private:
  bool send(const std::string& text);
  System& system_;
  std::unique_ptr<Timer> watchdog_;
  std::string last_status_;
  RateLimit warn_limit_{std::chrono::seconds(60), 3};
};

}  // namespace duende::supervisor
