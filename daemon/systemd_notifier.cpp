#include "systemd_notifier.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstring>

#include "log.hpp"

namespace duende::supervisor {

SystemdNotifier::SystemdNotifier(EventLoop& loop) {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_ = std::make_unique<Timer>(loop, [this] { send("WATCHDOG=1"); });
    const auto half = std::chrono::microseconds(usec / 2);
    watchdog_->arm(half, half);
    log_info("watchdog: keep-alive every " + std::to_string(usec / 2000) + " ms");
  }
}

void SystemdNotifier::send(const std::string& text) {
  const int r = sd_notify(0, text.c_str());
  if (r < 0) log_warning("sd_notify: " + std::string(strerror(-r)));
}

void SystemdNotifier::ready() { send("READY=1"); }

void SystemdNotifier::status(const std::string& line) {
  if (line == last_status_) return;
  last_status_ = line;
  send("STATUS=" + line);
}

void SystemdNotifier::reloading() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const auto usec = static_cast<unsigned long long>(now.tv_sec) * 1000000ull +
                    static_cast<unsigned long long>(now.tv_nsec) / 1000;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void SystemdNotifier::stopping() { send("STOPPING=1"); }

}  // namespace duende::supervisor
