// The lock report: one sd_notify-format datagram to $NOTIFY_SOCKET.
//
// Written against the socket directly rather than libsystemd's sd_notify(): the library
// runs inside every supervised process (often through LD_PRELOAD into programs that know
// nothing of it), and must not pull libsystemd into them.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

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
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!report || std::strcmp(report, "1") != 0 || !path || !*path) return 0;

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::size_t len = std::strlen(path);
  if ((path[0] != '/' && path[0] != '@') || len >= sizeof addr.sun_path) return EINVAL;
  std::memcpy(addr.sun_path, path, len);
  if (path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace, as sd_notify does
  const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);

  try {
    const std::string text = format_lock_report(status);
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    const ssize_t sent = ::sendto(fd, text.data(), text.size(), MSG_NOSIGNAL,
                                  reinterpret_cast<const sockaddr*>(&addr), addr_len);
    const int e = sent < 0 ? errno : 0;
    ::close(fd);
    return e;
  } catch (...) {
    return ENOMEM;
  }
}

}  // namespace duende::mlock
