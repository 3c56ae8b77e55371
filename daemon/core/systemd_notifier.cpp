#include "core/systemd_notifier.hpp"

#include <cstring>

namespace duende::supervisor {

SystemdNotifier::SystemdNotifier(System& system, TimerQueue& timers) : system_(system) {
  const auto period = system_.watchdog_period();
  if (!period) return;
  watchdog_ = std::make_unique<Timer>(timers, [this] { send("WATCHDOG=1"); });
  const auto half = *period / 2;
  watchdog_->arm(half, half);
  log_info("watchdog: keep-alive every " + std::to_string(half.count() / 1000) + " ms");
}

// A lost STATUS= is better than a frozen supervision loop: the next change sends a fresh
// one.
bool SystemdNotifier::send(const std::string& text) {
  const int e = system_.notify_service_manager(text);
  unsigned suppressed = 0;
  if (e != 0 && warn_limit_.allow(system_.now(), suppressed))
    log_warning("sd_notify: " + std::string(std::strerror(e)) +
                (suppressed ? " (" + std::to_string(suppressed) + " more suppressed)" : ""));
  return e == 0;
}

void SystemdNotifier::ready() { send("READY=1"); }

void SystemdNotifier::status(const std::string& line) {
  if (line == last_status_) return;
  if (send("STATUS=" + line)) last_status_ = line;  // unsent: try again at the next update
}

void SystemdNotifier::reloading() {
  const auto usec =
      std::chrono::duration_cast<std::chrono::microseconds>(system_.now().time_since_epoch());
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec.count()));
}

void SystemdNotifier::stopping() { send("STOPPING=1"); }

}  // namespace duende::supervisor
