#include "core/systemd_notifier.hpp"

#include <cerrno>
#include <cstring>

namespace duende::supervisor {

SystemdNotifier::SystemdNotifier(System& system, TimerQueue& timers,
                                 std::function<std::string()> status_line)
    : system_(system),
      status_line_(std::move(status_line)),
      retry_(timers,
             [this] {
               if (drained_ && system_.now() >= drain_deadline_) {  // give up: we are ending
                 queue_.clear();
                 watchdog_pending_ = status_dirty_ = false;
               }
               flush();
             }),
      status_(timers, [this] { send_status(); }) {
  const auto period = system_.watchdog_period();
  if (!period) return;
  watchdog_ = std::make_unique<Timer>(timers, [this] {
    watchdog_pending_ = true;
    flush();
  });
  const auto half = *period / 2;
  watchdog_->arm(half, half);
  log_info("watchdog: keep-alive every " + std::to_string(half.count() / 1000) + " ms");
  // One at once: a re-exec restarts this timer, and re-execs closer together than half
  // the period would otherwise leave systemd without a keep-alive for a whole period.
  watchdog_pending_ = true;
  flush();
}

int SystemdNotifier::send(const std::string& text) {
  const int e = system_.notify_service_manager(text);
  unsigned suppressed = 0;
  if (e != 0 && e != EAGAIN && warn_limit_.allow(system_.now(), suppressed))
    log_warning("sd_notify: " + std::string(std::strerror(e)) +
                (suppressed ? " (" + std::to_string(suppressed) + " more suppressed)" : ""));
  return e;
}

void SystemdNotifier::enqueue(std::string message) {
  queue_.push_back(std::move(message));
  flush();
}

// In order: the queued messages, then a pending keep-alive, then the status. A full queue
// stops the flush and retries it shortly; nothing is dropped for EAGAIN.
void SystemdNotifier::flush() {
  while (!queue_.empty()) {
    if (send(queue_.front()) == EAGAIN) {
      if (!retry_.armed()) retry_.arm(kRetryInterval);
      return;
    }
    queue_.pop_front();
  }
  if (watchdog_pending_) {
    if (send("WATCHDOG=1") == EAGAIN) {
      if (!retry_.armed()) retry_.arm(kRetryInterval);
      return;
    }
    watchdog_pending_ = false;
  }
  if (drained_) {  // the end: no coalescing, and tell drain()'s caller when it is all out
    if (status_dirty_) {
      send_status();
      if (status_dirty_) return;  // EAGAIN: retried
    }
    auto done = std::move(drained_);
    drained_ = nullptr;
    done();
    return;
  }
  if (status_dirty_ && !status_.armed()) {
    const auto since = system_.now() - last_status_sent_;
    status_.arm(since >= kStatusInterval ? Clock::duration::zero() : kStatusInterval - since);
  }
}

void SystemdNotifier::drain(std::function<void()> done) {
  drained_ = std::move(done);
  drain_deadline_ = system_.now() + kDrainTimeout;
  status_dirty_ = true;  // the final line goes out whatever the interval
  flush();
}

void SystemdNotifier::send_status() {
  if (!queue_.empty() || watchdog_pending_) return flush();  // in order, after those
  const std::string line = status_line_();
  status_dirty_ = false;
  if (line == last_status_) return;
  const int e = send("STATUS=" + line);
  if (e == EAGAIN) {
    status_dirty_ = true;
    if (!retry_.armed()) retry_.arm(kRetryInterval);
    return;
  }
  last_status_ = line;  // other errors: nobody to tell; do not retry the same line
  last_status_sent_ = system_.now();
}

void SystemdNotifier::ready() { enqueue("READY=1"); }

void SystemdNotifier::status_changed() {
  status_dirty_ = true;
  flush();
}

void SystemdNotifier::reloading() {
  const auto usec =
      std::chrono::duration_cast<std::chrono::microseconds>(system_.now().time_since_epoch());
  enqueue("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec.count()));
}

void SystemdNotifier::stopping() { enqueue("STOPPING=1"); }

}  // namespace duende::supervisor
