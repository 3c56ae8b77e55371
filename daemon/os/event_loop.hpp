// The daemon's one event loop: epoll over file descriptors, each with a callback, plus
// FdTimer, a timer on its own timerfd (the D-Bus connection's; the core keeps its deadlines
// in one TimerQueue on one timerfd). Single-threaded by design (README.md: under
// MCL_FUTURE every thread pins its stack): callbacks run one at a time on the thread that
// calls run().
#pragma once

#include <functional>
#include <memory>
#include <unordered_map>

#include "os/clock.hpp"

namespace duende::supervisor {

class EventLoop {
 public:
  using Callback = std::function<void(std::uint32_t events)>;

  // Creates the epoll instance; throws std::system_error if the kernel refuses.
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Watches `fd` for `events` (EPOLLIN …) and calls `callback` when ready. The loop does
  // not own the fd. Adding an fd twice replaces its callback and events.
  void add(int fd, std::uint32_t events, Callback callback);
  // Stops watching `fd`; safe to call from inside that fd's callback. Unknown fds are ignored.
  void remove(int fd);

  // Runs callbacks until quit(); an exception from a callback or `before_sleep` is logged
  // and the loop goes on (that one operation failed, not the daemon). `before_sleep` runs before
  // every wait (the D-Bus connection works through its queue there, a bounded amount per round).
  // When it returns true it left work undone: the loop then only polls (no sleep), so every other
  // source gets its turn before before_sleep runs again. Returns the code given to quit().
  int run(const std::function<bool()>& before_sleep = {});
  void quit(int code) {
    quit_ = true;
    exit_code_ = code;
  }

 private:
  int epoll_fd_ = -1;
  bool quit_ = false;
  int exit_code_ = 0;
  // Shared so a callback that removes its own fd does not destroy itself mid-call.
  std::unordered_map<int, std::shared_ptr<Callback>> callbacks_;
};

// A one-shot or periodic timer on its own timerfd (CLOCK_MONOTONIC), registered with a loop:
// for the D-Bus connection. The core keeps its many deadlines in one TimerQueue instead.
class FdTimer {
 public:
  FdTimer(EventLoop& loop, std::function<void()> on_fire);
  ~FdTimer();
  FdTimer(const FdTimer&) = delete;
  FdTimer& operator=(const FdTimer&) = delete;

  // Fires once after `delay` (zero or negative: as soon as possible), then every `period`
  // if that is non-zero. Re-arming replaces the previous schedule.
  void arm(Clock::duration delay, Clock::duration period = Clock::duration::zero());
  void disarm();
  bool armed() const { return armed_; }

 private:
  EventLoop& loop_;
  std::function<void()> on_fire_;
  int fd_ = -1;
  bool armed_ = false;
  bool periodic_ = false;
};

}  // namespace duende::supervisor
