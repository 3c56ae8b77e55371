#include "bus/bus_probe.hpp"

#include <poll.h>
#include <sys/epoll.h>
#include <systemd/sd-bus.h>

#include <cstring>

namespace duende::supervisor {

BusProbe::BusProbe(EventLoop& loop, Clock::duration deadline, Done done)
    : loop_(loop),
      done_(std::move(done)),
      deadline_(loop, [this] { finish(false, "the bus did not answer in time"); }) {
  deadline_.arm(deadline);
  const int r = sd_bus_open_system(&bus_);  // connects and queues the handshake; no waiting
  if (r < 0) {
    finish(false, std::string("cannot open the system bus: ") + std::strerror(-r));
    return;
  }
  fd_ = sd_bus_get_fd(bus_);
  step();
}

BusProbe::~BusProbe() {
  if (fd_ >= 0) loop_.remove(fd_);
  if (bus_) sd_bus_close_unref(bus_);
}

// Processes what arrived and re-arms for what sd-bus waits for next.
void BusProbe::step() {
  if (finished_) return;
  int r;
  while ((r = sd_bus_process(bus_, nullptr)) > 0) {
  }
  if (r < 0) return finish(false, std::string("system bus: ") + std::strerror(-r));
  if (sd_bus_is_ready(bus_) > 0) return finish(true, "");
  const int events = sd_bus_get_events(bus_);
  if (events < 0) return finish(false, std::string("system bus: ") + std::strerror(-events));
  std::uint32_t wanted = 0;
  if (events & POLLIN) wanted |= EPOLLIN;
  if (events & POLLOUT) wanted |= EPOLLOUT;
  try {
    loop_.add(fd_, wanted, [this](std::uint32_t) { step(); });
  } catch (const std::exception& e) {
    finish(false, std::string("system bus: ") + e.what());
  }
}

// Reports once; the owner destroys the probe later, outside this call stack.
void BusProbe::finish(bool ok, const std::string& why) {
  if (finished_) return;
  finished_ = true;
  deadline_.disarm();
  if (fd_ >= 0) loop_.remove(fd_);
  fd_ = -1;
  done_(ok, why);
}

}  // namespace duende::supervisor
