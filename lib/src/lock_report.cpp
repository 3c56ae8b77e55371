// The lock report: one sd_notify-format datagram to $NOTIFY_SOCKET.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "duende/mlock.hpp"

namespace duende::mlock {

std::string format_lock_report(const MlockStatus& status) {
  const char* state = status.is_locked() ? "locked" : status.is_failed() ? "failed" : "unsupported";
  return std::string("X_DUENDE_MLOCK=") + state +
         "\nX_DUENDE_MLOCK_BYTES=" + std::to_string(status.bytes_locked()) +
         "\nX_DUENDE_MLOCK_ERRNO=" + std::to_string(status.failure_errno()) + "\n";
}

int send_lock_report(const MlockStatus& status) noexcept {
  const char* report = std::getenv("DUENDE_MLOCK_REPORT");
  if (!report || std::strcmp(report, "1") != 0) return 0;
  try {
    return notify_send(format_lock_report(status), kLockReportTimeoutMs);
  } catch (...) {
    return ENOMEM;
  }
}

}  // namespace duende::mlock
