#include "os/notify_socket.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace duende::supervisor {

using duende::mlock::Unexpected;

duende::mlock::Result<NotifySocket, std::string> NotifySocket::bind(const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return Unexpected("notify socket path too long: " + path);
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Unexpected(std::string("socket: ") + std::strerror(errno));
  const int on = 1;
  const int size = 1 << 20;  // room for a burst of reports from many children
  ::setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  ::unlink(path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    ::close(fd);
    return Unexpected("bind " + path + ": " + std::strerror(e));
  }
  ::chmod(path.c_str(), 0666);
  return NotifySocket(fd, path);
}

duende::mlock::Result<NotifySocket, std::string> NotifySocket::adopt(int fd,
                                                                     const std::string& path) {
  sockaddr_un addr{};
  socklen_t len = sizeof addr;
  int type = 0;
  socklen_t type_len = sizeof type;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      addr.sun_family != AF_UNIX || ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0 ||
      type != SOCK_DGRAM || std::strncmp(addr.sun_path, path.c_str(), sizeof addr.sun_path) != 0)
    return Unexpected("descriptor " + std::to_string(fd) + " is not the socket bound at " + path);
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return NotifySocket(fd, path);
}

NotifySocket::NotifySocket(NotifySocket&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

NotifySocket::~NotifySocket() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(path_.c_str());
}

std::vector<Datagram> NotifySocket::receive_all() {
  std::vector<Datagram> out;
  char buf[kMaxDatagram + 1];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * 16)];
  // Bounded, so a flood cannot starve the loop: the fd stays readable for the next round.
  for (int round = 0; round < kDatagramsPerCall; ++round) {
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(fd_, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // EAGAIN: drained
    }
    Datagram d;
    d.truncated = static_cast<std::size_t>(n) > kMaxDatagram || (msg.msg_flags & MSG_TRUNC);
    d.text.assign(buf, d.truncated ? 0 : static_cast<std::size_t>(n));
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET) continue;
      if (c->cmsg_type == SCM_CREDENTIALS) {
        ucred cred;
        std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
        d.sender = cred.pid;
      } else if (c->cmsg_type == SCM_RIGHTS) {
        const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
          int passed;
          std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
          ::close(passed);
        }
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace duende::supervisor
