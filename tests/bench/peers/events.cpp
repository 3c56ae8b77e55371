#include "events.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace duende::peers {

std::optional<Hello> parse_hello(const std::string& text) {
  std::istringstream in(text);
  std::string word;
  Hello h;
  if (!(in >> word) || word != "hello" || !(in >> h.name >> h.pid >> h.vmlck_kb)) return {};
  return h;
}

std::optional<std::string> parse_ready_line(const std::string& line) {
  // "<6>c12: ready, locked (…)" or "<6>c12: ready"; never "…: ready and locked; turning…".
  if (line.size() < 4 || line[0] != '<') return {};
  const auto open = line.find('>');
  const auto colon = line.find(": ready", open);
  if (open == std::string::npos || colon == std::string::npos) return {};
  const std::string rest = line.substr(colon + 7);
  if (!rest.empty() && rest[0] != ',') return {};
  const std::string name = line.substr(open + 1, colon - open - 1);
  if (name.empty() || name.find(' ') != std::string::npos) return {};
  return name;
}

Events::Events(std::string socket_path) : path_(std::move(socket_path)) {
  sock_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (sock_ < 0 || path_.size() >= sizeof addr.sun_path)
    throw std::runtime_error("events: cannot make a socket at " + path_);
  std::memcpy(addr.sun_path, path_.c_str(), path_.size());
  unlink(path_.c_str());
  if (bind(sock_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("events: bind " + path_ + ": " + std::strerror(errno));
  // 1,000 children say hello at once: a deep queue keeps them from waiting on us.
  const int size = 4 << 20;
  setsockopt(sock_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("events: pipe2");
  thread_ = std::thread([this] { loop(); });
}

Events::~Events() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  [[maybe_unused]] auto n = write(wake_[1], "x", 1);
  thread_.join();
  for (int fd : {sock_, log_fd_, wake_[0], wake_[1]})
    if (fd >= 0) close(fd);
  unlink(path_.c_str());
}

void Events::watch_log(int fd) {
  std::lock_guard lock(mutex_);
  if (log_fd_ >= 0) close(log_fd_);
  log_fd_ = fd;
  partial_line_.clear();
  [[maybe_unused]] auto n = write(wake_[1], "x", 1);
}

void Events::reset() {
  std::lock_guard lock(mutex_);
  hellos_.clear();
  latest_.clear();
  ready_lines_.clear();
  ready_total_ = 0;
  ready_at_.reset();
  if (log_fd_ >= 0) close(log_fd_);
  log_fd_ = -1;
  [[maybe_unused]] auto n = write(wake_[1], "x", 1);
}

void Events::loop() {
  char buf[65536];
  for (;;) {
    int log_fd;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      log_fd = log_fd_;
    }
    pollfd fds[3] = {{sock_, POLLIN, 0}, {wake_[0], POLLIN, 0}, {log_fd, POLLIN, 0}};
    if (poll(fds, log_fd >= 0 ? 3 : 2, 1000) <= 0) continue;
    const auto at = Clock::now();
    if (fds[1].revents)
      while (read(wake_[0], buf, sizeof buf) > 0) {
      }
    for (ssize_t n; (n = recv(sock_, buf, sizeof buf, 0)) > 0;)
      on_datagram(std::string(buf, static_cast<size_t>(n)), at);
    if (log_fd >= 0 && fds[2].revents) {
      std::lock_guard lock(mutex_);
      if (log_fd_ != log_fd) continue;  // reset() closed it meanwhile
      const ssize_t n = read(log_fd, buf, sizeof buf);
      if (n > 0) on_log_bytes(buf, static_cast<size_t>(n), at);
      if (n == 0) {
        close(log_fd_);
        log_fd_ = -1;
      }
    }
  }
}

void Events::on_datagram(const std::string& text, Clock::time_point at) {
  std::lock_guard lock(mutex_);
  if (auto h = parse_hello(text)) {
    h->at = at;
    hellos_.push_back(*h);
    latest_[h->name] = *h;
  } else if (text.find("READY=1") != std::string::npos && !ready_at_) {
    ready_at_ = at;
  }
  changed_.notify_all();
}

void Events::on_log_bytes(const char* data, std::size_t n, Clock::time_point at) {
  partial_line_.append(data, n);
  std::size_t start = 0;
  for (std::size_t nl; (nl = partial_line_.find('\n', start)) != std::string::npos; start = nl + 1)
    if (auto name = parse_ready_line(partial_line_.substr(start, nl - start))) {
      ready_lines_[*name].push_back(at);
      ++ready_total_;
    }
  partial_line_.erase(0, start);
  changed_.notify_all();
}

bool Events::wait(const std::function<bool()>& done, Clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (done()) return true;
    const auto now = Clock::now();
    if (now >= deadline || (give_up_ && give_up_())) return false;
    changed_.wait_until(lock, std::min(deadline, now + std::chrono::milliseconds(100)));
  }
}

std::optional<Hello> Events::latest(const std::string& name) const {
  const auto it = latest_.find(name);
  if (it == latest_.end()) return {};
  return it->second;
}

std::size_t Events::ready_lines(const std::string& name) const {
  const auto it = ready_lines_.find(name);
  return it == ready_lines_.end() ? 0 : it->second.size();
}

std::optional<Clock::time_point> Events::last_ready_line(const std::string& name) const {
  const auto it = ready_lines_.find(name);
  if (it == ready_lines_.end() || it->second.empty()) return {};
  return it->second.back();
}

std::vector<Clock::time_point> Events::hello_times() const {
  std::vector<Clock::time_point> out;
  for (const auto& [name, h] : latest_) out.push_back(h.at);
  return out;
}

std::vector<Clock::time_point> Events::ready_line_times() const {
  std::vector<Clock::time_point> out;
  for (const auto& [name, times] : ready_lines_) out.push_back(times.back());
  return out;
}

std::vector<pid_t> Events::child_pids() const {
  std::vector<pid_t> out;
  for (const auto& [name, h] : latest_) out.push_back(h.pid);
  return out;
}

}  // namespace duende::peers
