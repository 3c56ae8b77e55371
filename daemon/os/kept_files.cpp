#include "os/kept_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace duende::supervisor {

using mlock::Unexpected;

KeptFiles::~KeptFiles() { close_all(); }

void KeptFiles::close_all() {
  for (auto& [path, file] : files_) ::close(file.fd);
  files_.clear();
}

void KeptFiles::set_allowance(std::uint64_t files) {
  allowance_ = files;
  if (files_.size() > allowance_) close_all();
}

void KeptFiles::forget(const std::string& path) {
  const auto it = files_.find(path);
  if (it == files_.end()) return;
  ::close(it->second.fd);
  files_.erase(it);
}

mlock::Result<std::string_view, int> KeptFiles::read_fd(int fd, std::size_t max_bytes) {
  // One pread() for the usual case; grown and read again from 0 while the text fills it.
  std::size_t size = buffer_.size() < 4096 ? 4096 : buffer_.size();
  for (;;) {
    if (size > max_bytes + 1) size = max_bytes + 1;
    buffer_.resize(size);
    const ssize_t n = ::pread(fd, buffer_.data(), size, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Unexpected(errno);
    const std::size_t got = static_cast<std::size_t>(n);
    if (got < size || size > max_bytes)
      return std::string_view(buffer_.data(), got < max_bytes ? got : max_bytes);
    size *= 2;
  }
}

mlock::Result<std::string_view, int> KeptFiles::read(const std::string& path,
                                                     std::size_t max_bytes) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_sweep_ >= kIdleClose) close_idle(now);
  const auto it = files_.find(path);
  if (it != files_.end()) {
    it->second.used = now;
    auto text = read_fd(it->second.fd, max_bytes);
    if (text) return text;
    forget(path);  // its process is gone, or the file: opened again below for a new one
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Unexpected(errno);
  auto text = read_fd(fd, max_bytes);
  if (text && files_.size() < allowance_) {
    try {
      files_.emplace(path, Kept{fd, now});
      return text;
    } catch (const std::bad_alloc&) {  // not kept: read with an open() next time
    }
  }
  ::close(fd);
  return text;
}

void KeptFiles::close_idle(std::chrono::steady_clock::time_point now) {
  last_sweep_ = now;
  for (auto it = files_.begin(); it != files_.end();) {
    if (now - it->second.used >= kIdleClose) {
      ::close(it->second.fd);
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace duende::supervisor
