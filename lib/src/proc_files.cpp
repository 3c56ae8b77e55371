#include "proc_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace duende::mlock::internal {

Result<std::string, int> read_whole_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Unexpected(errno);
  std::string out;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      const int e = errno;
      ::close(fd);
      return Unexpected(e);
    }
  }
  ::close(fd);
  return out;
}

}  // namespace duende::mlock::internal
