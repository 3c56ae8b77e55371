#include "os/fd_store.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "duende/mlock.hpp"

namespace duende::supervisor {

std::vector<StoredFd> take_stored_fds() {
  std::vector<StoredFd> out;
  char** names = nullptr;
  const int n = sd_listen_fds_with_names(1, &names);
  for (int i = 0; i < n; ++i) {
    const int fd = SD_LISTEN_FDS_START + i;
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    out.push_back(StoredFd{names && names[i] ? names[i] : "unknown", fd});
  }
  if (names) {
    for (int i = 0; names[i]; ++i) std::free(names[i]);
    std::free(names);
  }
  return out;
}

bool fd_store_available() {
  const char* notify = std::getenv("NOTIFY_SOCKET");
  const char* invocation = std::getenv("INVOCATION_ID");
  return notify && *notify && invocation && *invocation;
}

// sd_pid_notify_with_fds() would block when systemd's queue is full: one non-blocking
// sendmsg() to $NOTIFY_SOCKET instead, as mlock::notify_send() does for text.
int fd_store_add(int fd, const std::string& name) {
  if (!fd_store_available()) return 0;
  const char* path = std::getenv("NOTIFY_SOCKET");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::size_t len = std::strlen(path);
  if ((path[0] != '/' && path[0] != '@') || len >= sizeof addr.sun_path) return EINVAL;
  std::memcpy(addr.sun_path, path, len);
  if (path[0] == '@') addr.sun_path[0] = '\0';
  const std::string text = "FDSTORE=1\nFDPOLL=0\nFDNAME=" + name;
  iovec iov{const_cast<char*>(text.data()), text.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_name = &addr;
  msg.msg_namelen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  const int s = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno;
  ssize_t sent;
  do {
    sent = ::sendmsg(s, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  const int e = sent < 0 ? errno : 0;
  ::close(s);
  return e;
}

int fd_store_remove(const std::string& name) {
  if (!fd_store_available()) return 0;
  return mlock::notify_send("FDSTOREREMOVE=1\nFDNAME=" + name);
}

}  // namespace duende::supervisor
