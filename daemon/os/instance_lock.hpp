// One supervisor per runtime directory: an exclusive flock(2) on RUNTIME_DIR/lock, held for
// the life of the process. A second supervisor on the same directory would take over the
// children's notify socket and leave the first one's children failing readiness, or start
// a second copy of every child; it must refuse to run instead. The kernel drops the lock
// when the holder dies, however it dies, so a crash never leaves a stale lock behind.
#pragma once

#include <sys/types.h>

#include <string>

#include "duende/result.hpp"

namespace duende::supervisor {

struct InstanceLockError {
  bool held = false;  // another process holds the lock (else: the file could not be used)
  pid_t holder = 0;   // its pid as it wrote it into the file, 0 when unknown
  std::string message;
};

class InstanceLock {
 public:
  // Opens (creating, mode 0644) `directory`/lock, takes LOCK_EX without waiting and writes
  // this process's pid into it. Failure: held = true with the holder's pid when another
  // process has it ("another mlock-supervisor (pid 123) runs on /run/mlock-supervisor");
  // otherwise the errno of open/flock in the message. The descriptor is O_CLOEXEC: no child
  // inherits the lock.
  static mlock::Result<InstanceLock, InstanceLockError> acquire(const std::string& directory);

  InstanceLock(InstanceLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  InstanceLock& operator=(InstanceLock&&) = delete;
  ~InstanceLock();

 private:
  explicit InstanceLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace duende::supervisor
