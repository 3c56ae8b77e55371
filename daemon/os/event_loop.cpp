#include "os/event_loop.hpp"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <vector>

#include "os/log.hpp"

namespace duende::supervisor {

EventLoop::EventLoop() : epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)) {
  if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

EventLoop::~EventLoop() { ::close(epoll_fd_); }

void EventLoop::add(int fd, std::uint32_t events, Callback callback) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  const bool known = callbacks_.count(fd) > 0;
  if (::epoll_ctl(epoll_fd_, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0)
    throw std::system_error(errno, std::generic_category(), "epoll_ctl");
  callbacks_[fd] = std::make_shared<Callback>(std::move(callback));
}

void EventLoop::remove(int fd) {
  if (callbacks_.erase(fd) > 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

int EventLoop::run(const std::function<bool()>& before_sleep) {
  std::vector<epoll_event> events(64);
  quit_ = false;
  while (!quit_) {
    bool busy = false;
    try {
      busy = before_sleep && before_sleep();
    } catch (const std::exception& e) {
      log_error(std::string("event loop: ") + e.what() +
                " (that work is dropped; supervision goes on)");
    }
    if (quit_) break;
    const int n =
        ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), busy ? 0 : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "epoll_wait");
    }
    for (int i = 0; i < n && !quit_; ++i) {
      const auto it = callbacks_.find(events[i].data.fd);
      if (it == callbacks_.end()) continue;  // removed by an earlier callback
      const std::shared_ptr<Callback> callback = it->second;
      // One failing operation (out of memory, a refused descriptor) must not end the loop:
      // unwinding run() would take every child down with the supervisor.
      try {
        (*callback)(events[i].events);
      } catch (const std::exception& e) {
        log_error(std::string("event loop: ") + e.what() +
                  " (that work is dropped; supervision goes on)");
      }
    }
  }
  return exit_code_;
}

FdTimer::FdTimer(EventLoop& loop, std::function<void()> on_fire)
    : loop_(loop),
      on_fire_(std::move(on_fire)),
      fd_(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) {
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "timerfd_create");
  loop_.add(fd_, EPOLLIN, [this](std::uint32_t) {
    std::uint64_t expirations = 0;
    if (::read(fd_, &expirations, sizeof expirations) != sizeof expirations) return;
    if (!periodic_) armed_ = false;
    on_fire_();
  });
}

FdTimer::~FdTimer() {
  loop_.remove(fd_);
  ::close(fd_);
}

namespace {
timespec to_timespec(Clock::duration d) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  return timespec{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
}
}  // namespace

void FdTimer::arm(Clock::duration delay, Clock::duration period) {
  itimerspec spec{};
  // A zero it_value disarms a timerfd: "as soon as possible" is one nanosecond.
  spec.it_value =
      to_timespec(delay > Clock::duration::zero() ? delay : std::chrono::nanoseconds(1));
  spec.it_interval = to_timespec(period);
  ::timerfd_settime(fd_, 0, &spec, nullptr);
  armed_ = true;
  periodic_ = period > Clock::duration::zero();
}

void FdTimer::disarm() {
  const itimerspec spec{};
  ::timerfd_settime(fd_, 0, &spec, nullptr);
  armed_ = false;
}

}  // namespace duende::supervisor
