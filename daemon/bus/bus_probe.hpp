// Waits, without ever blocking the loop, until the system bus answers.
//
// sdbus-c++ 1.2.0 finishes the handshake (authentication and Hello) synchronously when it
// creates a connection: against a bus that accepts connections but does not answer
// (stuck at boot, or itself waiting on swap) that would freeze the supervisor's only
// thread for sd-bus's authentication timeout. So a raw sd-bus connection goes first,
// driven by the loop; only once it has completed the same handshake is the real
// connection created. (A bus that freezes in between still blocks it: a narrow window.)
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "os/event_loop.hpp"

struct sd_bus;

namespace duende::supervisor {

class BusProbe {
 public:
  // Called once, from the loop: `ok` when the bus answered, else `why` it did not.
  using Done = std::function<void(bool ok, const std::string& why)>;

  // Starts connecting (non-blocking); gives up after `deadline`.
  BusProbe(EventLoop& loop, Clock::duration deadline, Done done);
  ~BusProbe();
  BusProbe(const BusProbe&) = delete;
  BusProbe& operator=(const BusProbe&) = delete;

  bool finished() const { return finished_; }

 private:
  void step();
  void finish(bool ok, const std::string& why);

  EventLoop& loop_;
  Done done_;
  sd_bus* bus_ = nullptr;
  int fd_ = -1;
  FdTimer deadline_;
  bool finished_ = false;
};

}  // namespace duende::supervisor
