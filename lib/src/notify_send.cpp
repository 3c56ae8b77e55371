// notify_send(): one sd_notify-format datagram to $NOTIFY_SOCKET, with a bounded wait.
//
// Written against the socket directly rather than libsystemd's sd_notify(): the library
// runs inside every supervised process (often through LD_PRELOAD into programs that know
// nothing of it) and must not pull libsystemd into them; and sd_notify() blocks without
// bound when the receiver's queue is full (net.unix.max_dgram_qlen datagrams), which a
// single-threaded supervisor must never do, while a child starting up may wait a little.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "duende/mlock.hpp"

namespace duende::mlock {

int notify_send(std::string_view state, int timeout_ms) noexcept {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || !*path) return 0;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::size_t len = std::strlen(path);
  if ((path[0] != '/' && path[0] != '@') || len >= sizeof addr.sun_path) return EINVAL;
  std::memcpy(addr.sun_path, path, len);
  if (path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace, as sd_notify does
  const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);

  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  if (timeout_ms > 0) {
    const timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  const int flags = MSG_NOSIGNAL | (timeout_ms > 0 ? 0 : MSG_DONTWAIT);
  ssize_t sent;
  do {
    sent = ::sendto(fd, state.data(), state.size(), flags, reinterpret_cast<const sockaddr*>(&addr),
                    addr_len);
  } while (sent < 0 && errno == EINTR);
  const int e = sent < 0 ? errno : 0;
  ::close(fd);
  return e;
}

}  // namespace duende::mlock
