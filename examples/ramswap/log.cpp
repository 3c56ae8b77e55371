#include "log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

namespace ramswap {

void make_output_nonblocking() {
  for (const int fd : {STDOUT_FILENO, STDERR_FILENO}) {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) continue;
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  }
}

void log_line(std::string_view text) {
  std::string line = "ramswap: ";
  line.append(text);
  line += '\n';
  static_cast<void>(::write(STDERR_FILENO, line.data(), line.size()));
}

}  // namespace ramswap
