// The one clock of the daemon: monotonic, as every deadline (timeouts, backoff, start
// limits, the watchdog) is measured.
#pragma once

#include <chrono>

namespace duende::supervisor {

using Clock = std::chrono::steady_clock;

// Seconds (as configured) to a Clock duration.
inline Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

}  // namespace duende::supervisor
