#include "systemd_notifier.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstring>

#include "duende/mlock.hpp"
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

// Never blocks (sd_notify() would when systemd's queue is full): a lost STATUS= is
// better than a frozen supervision loop. The next change sends a fresh one.
bool SystemdNotifier::send(const std::string& text) {
  const int e = duende::mlock::notify_send(text);
  unsigned suppressed = 0;
  if (e != 0 && warn_limit_.allow(Clock::now(), suppressed))
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
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const auto usec = static_cast<unsigned long long>(now.tv_sec) * 1000000ull +
                    static_cast<unsigned long long>(now.tv_nsec) / 1000;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void SystemdNotifier::stopping() { send("STOPPING=1"); }

}  // namespace duende::supervisor
