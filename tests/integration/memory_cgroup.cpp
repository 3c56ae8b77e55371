// MemoryCgroup: a limited memory cgroup for the pressure test, v1 or v2 as the host has.
#include "memory_cgroup.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

namespace duende::itest {

namespace {

using Clock = std::chrono::steady_clock;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes `text` in one write(2), as cgroup files want; false with errno on failure.
bool write_text(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int saved = errno;
  ::close(fd);
  errno = saved;
  return ok;
}

bool has_word(const std::string& list, const std::string& word, char separator) {
  std::istringstream in(list);
  std::string item;
  while (std::getline(in, item, separator))
    if (item == word) return true;
  return false;
}

// Whether the white-space separated `text` has `word` (cgroup.controllers).
bool has_token(const std::string& text, const std::string& word) {
  std::istringstream in(text);
  for (std::string token; in >> token;)
    if (token == word) return true;
  return false;
}

struct Mount {
  std::string root, point;
};

// The first mount of file system type `type` whose super options include `option` (any
// with an empty `option`).
std::optional<Mount> find_mount(const std::string& type, const std::string& option) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    const auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream head(line.substr(0, dash)), tail(line.substr(dash + 3));
    std::string id, parent, devno, root, point, fstype, source, super;
    if (!(head >> id >> parent >> devno >> root >> point) || !(tail >> fstype >> source >> super))
      continue;
    if (fstype == type && (option.empty() || has_word(super, option, ',')))
      return Mount{root, point};
  }
  return std::nullopt;
}

// This process's path in the v1 hierarchy holding `controller` ("/" for its root).
std::optional<std::string> own_v1_path(const std::string& controller) {
  std::istringstream in(read_text("/proc/self/cgroup"));
  std::string line;
  while (std::getline(in, line)) {
    const auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    if (has_word(line.substr(a + 1, b - a - 1), controller, ',')) return line.substr(b + 1);
  }
  return std::nullopt;
}

std::string unique_name() {
  static std::atomic<int> counter{0};
  return "mlock-pressure." + std::to_string(getpid()) + "." + std::to_string(++counter);
}

}  // namespace

std::unique_ptr<MemoryCgroup> MemoryCgroup::make(std::uint64_t limit_bytes, std::string& why_not) {
  std::unique_ptr<MemoryCgroup> made;
  if (const auto v1 = find_mount("cgroup", "memory")) {
    std::string own = own_v1_path("memory").value_or("/");
    // In a cgroup namespace or a bind mount, the mount shows the hierarchy from its root.
    if (v1->root != "/" && own.rfind(v1->root, 0) == 0) own = own.substr(v1->root.size());
    if (own.empty() || own.back() != '/') own += '/';
    const std::string relative = own + unique_name();
    made.reset(new MemoryCgroup(v1->point + relative, relative, true));
  } else if (const auto v2 = find_mount("cgroup2", "")) {
    if (!has_token(read_text(v2->point + "/cgroup.controllers"), "memory")) {
      why_not = "the cgroup v2 hierarchy at " + v2->point + " offers no memory controller";
      return nullptr;
    }
    if (!has_token(read_text(v2->point + "/cgroup.subtree_control"), "memory") &&
        !write_text(v2->point + "/cgroup.subtree_control", "+memory")) {
      why_not = "cannot enable the memory controller in " + v2->point + ": " + strerror(errno);
      return nullptr;
    }
    const std::string relative = "/" + unique_name();
    made.reset(new MemoryCgroup(v2->point + relative, relative, false));
  } else {
    why_not = "no memory cgroup: neither a v1 memory hierarchy nor cgroup v2 is mounted";
    return nullptr;
  }
  if (::mkdir(made->path_.c_str(), 0755) != 0) {
    why_not = "mkdir " + made->path_ + ": " + strerror(errno);
    made->path_.clear();  // nothing to remove
    return nullptr;
  }
  if (!made->set_limit(limit_bytes)) {
    why_not = "cannot set the memory limit of " + made->path_ + ": " + strerror(errno);
    return nullptr;  // the destructor removes the directory
  }
  // The kernel's default, in case an ancestor says 0 (v1 only: no swap at all then).
  if (made->v1_) write_text(made->path_ + "/memory.swappiness", "60");
  return made;
}

MemoryCgroup::~MemoryCgroup() { remove(); }

bool MemoryCgroup::add(pid_t pid) const {
  return write_text(path_ + "/cgroup.procs", std::to_string(pid));
}

std::vector<pid_t> MemoryCgroup::processes() const {
  std::vector<pid_t> pids;
  std::istringstream in(read_text(path_ + "/cgroup.procs"));
  for (pid_t pid; in >> pid;) pids.push_back(pid);
  return pids;
}

bool MemoryCgroup::contains(pid_t pid) const {
  std::istringstream in(read_text("/proc/" + std::to_string(pid) + "/cgroup"));
  std::string line;
  while (std::getline(in, line)) {
    const auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    const bool ours = v1_ ? has_word(controllers, "memory", ',') : line.rfind("0::", 0) == 0;
    if (ours) return line.substr(b + 1) == relative_;
  }
  return false;
}

bool MemoryCgroup::set_limit(std::uint64_t limit_bytes) const {
  if (v1_)
    return write_text(path_ + "/memory.limit_in_bytes",
                      limit_bytes ? std::to_string(limit_bytes) : "-1");
  return write_text(path_ + "/memory.max", limit_bytes ? std::to_string(limit_bytes) : "max");
}

bool MemoryCgroup::pin_at_limit(bool on) const {
  if (v1_)
    return write_text(path_ + "/memory.oom_control", on ? "1" : "0") &&
           write_text(path_ + "/memory.swappiness", on ? "0" : "60") &&
           (on || wake_oom_waiters() >= 0);
  if (!write_text(path_ + "/memory.swap.max", on ? "0" : "max")) return false;
  for (const pid_t pid : processes())
    if (!write_text("/proc/" + std::to_string(pid) + "/oom_score_adj", on ? "-1000" : "0"))
      return false;
  return true;
}

int MemoryCgroup::wake_oom_waiters(std::chrono::milliseconds deadline) const {
  if (!v1_) return 0;
  const auto until = Clock::now() + deadline;
  for (int writes = 0;; ++writes) {
    if (read_text(path_ + "/memory.oom_control").find("under_oom 1") == std::string::npos)
      return writes;
    if (writes > 0 && Clock::now() >= until) return -1;
    write_text(path_ + "/memory.oom_control", "0");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string MemoryCgroup::memory_report() const {
  auto field = [this](const char* file) {
    std::string text = read_text(path_ + "/" + file);
    for (char& c : text)
      if (c == '\n') c = ' ';
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return std::string(file) + ": " + (text.empty() ? "?" : text);
  };
  if (v1_)
    return field("memory.usage_in_bytes") + "; " + field("memory.limit_in_bytes") + "; " +
           field("memory.oom_control");
  return field("memory.current") + "; " + field("memory.max") + "; " + field("memory.events");
}

bool MemoryCgroup::exists() const {
  struct stat st;
  return !path_.empty() && ::stat(path_.c_str(), &st) == 0;
}

bool MemoryCgroup::remove(std::chrono::milliseconds deadline) {
  if (!exists()) return true;
  const auto until = Clock::now() + deadline;
  while (true) {
    for (const pid_t pid : processes()) ::kill(pid, SIGKILL);
    // EBUSY while a killed process is still on its way out.
    if (::rmdir(path_.c_str()) == 0 || errno == ENOENT) return true;
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace duende::itest
