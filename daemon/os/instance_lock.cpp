#include "os/instance_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace duende::supervisor {

mlock::Result<InstanceLock, InstanceLockError> InstanceLock::acquire(const std::string& directory) {
  const std::string path = directory + "/lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return mlock::Unexpected(
        InstanceLockError{false, 0, "open " + path + ": " + std::strerror(errno)});
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    if (e != EWOULDBLOCK) {
      ::close(fd);
      return mlock::Unexpected(
          InstanceLockError{false, 0, "flock " + path + ": " + std::strerror(e)});
    }
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    pid_t holder = 0;
    if (n > 0) std::from_chars(buf, buf + n, holder);
    return mlock::Unexpected(InstanceLockError{
        true, holder,
        "another mlock-supervisor" + (holder > 0 ? " (pid " + std::to_string(holder) + ")" : "") +
            " runs on " + directory + " (it holds " + path +
            "); one supervisor per runtime "
            "directory: stop it first, or give this one another RUNTIME_DIRECTORY"});
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  // Only a hint for the message above; the lock is what counts.
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, pid.data(), pid.size(), 0);
  return InstanceLock(fd);
}

InstanceLock::~InstanceLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace duende::supervisor
