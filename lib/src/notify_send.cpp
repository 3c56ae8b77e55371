// notify_send(): one sd_notify-format datagram to $NOTIFY_SOCKET, never blocking.
//
// Written against the socket directly rather than libsystemd's sd_notify(): the library
// runs inside every supervised process (often through LD_PRELOAD into programs that know
// nothing of it) and must not pull libsystemd into them; and sd_notify() blocks when the
// receiver's queue is full, which a single-threaded supervisor must never do.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "duende/mlock.hpp"

namespace duende::mlock {

int notify_send(std::string_view state) noexcept {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || !*path) return 0;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::size_t len = std::strlen(path);
  if ((path[0] != '/' && path[0] != '@') || len >= sizeof addr.sun_path) return EINVAL;
  std::memcpy(addr.sun_path, path, len);
  if (path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace, as sd_notify does
  const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);

  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return errno;
  const ssize_t sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                                reinterpret_cast<const sockaddr*>(&addr), addr_len);
  const int e = sent < 0 ? errno : 0;
  ::close(fd);
  return e;
}

}  // namespace duende::mlock
