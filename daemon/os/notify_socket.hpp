// The children's notify socket: a datagram socket in the runtime directory, with
// SO_PASSCRED so every datagram carries the sender's pid as the kernel saw it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "duende/result.hpp"

namespace duende::supervisor {

// The largest datagram accepted; systemd uses the same bound for its notify socket.
inline constexpr std::size_t kMaxDatagram = 4096;

struct Datagram {
  pid_t sender = 0;  // from SCM_CREDENTIALS; 0 when the datagram had none
  std::string text;
  bool truncated = false;  // longer than the receive buffer: must be ignored
};

class NotifySocket {
 public:
  // Binds a fresh socket at `path` (an existing socket file there is replaced), mode 0666
  // so children running as other users can send. Failure: the errno and what failed.
  static duende::mlock::Result<NotifySocket, std::string> bind(const std::string& path);
  // Takes over `fd`, the socket a previous image of this process bound at `path` and kept
  // open across execve() (a re-exec): datagrams sent meanwhile are still queued on it.
  // Failure: `fd` is not a datagram socket bound at `path`.
  static duende::mlock::Result<NotifySocket, std::string> adopt(int fd, const std::string& path);

  NotifySocket(NotifySocket&& other) noexcept;
  NotifySocket& operator=(NotifySocket&&) = delete;
  ~NotifySocket();

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

  // Receives the datagrams queued now (non-blocking; at most kDatagramsPerCall per call, so
  // a flood gets a bounded slice of each loop round and the bus and timers the rest). File
  // descriptors passed along (SCM_RIGHTS) are closed at once: nobody here stores them.
  std::vector<Datagram> receive_all();
  static constexpr int kDatagramsPerCall = 64;

 private:
  NotifySocket(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

}  // namespace duende::supervisor
