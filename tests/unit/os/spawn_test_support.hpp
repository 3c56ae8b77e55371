// Helpers shared by the spawn_process tests: spawned children that are always reaped,
// pipes, and readers of /proc/PID.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "forked_child.hpp"
#include "os/spawn.hpp"
#include "privilege.hpp"
#include "proc_peek.hpp"

namespace duende::supervisor::spawn_test {

namespace fs = std::filesystem;

constexpr idtype_t kIdPidfd = static_cast<idtype_t>(3);  // P_PIDFD, absent from glibc 2.36
constexpr uid_t kNobody = 65534;

// A spawned child that is killed (if still running) and reaped when the test ends.
class Child {
 public:
  explicit Child(const SpawnedProcess& process) : process_(process) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (process_.pidfd < 0) return;
    syscall(SYS_pidfd_send_signal, process_.pidfd, SIGKILL, nullptr, 0);
    wait();
  }
  pid_t pid() const { return process_.pid; }
  int pidfd() const { return process_.pidfd; }

  // Reaps the child: its exit code, or minus the signal that killed it.
  int wait() {
    siginfo_t info{};
    while (waitid(kIdPidfd, static_cast<id_t>(process_.pidfd), &info, WEXITED) != 0) {
      if (errno != EINTR) return -1000;
    }
    close(process_.pidfd);
    process_.pidfd = -1;
    return info.si_code == CLD_EXITED ? info.si_status : -info.si_status;
  }

 private:
  SpawnedProcess process_;
};

// Both ends O_CLOEXEC; the write end can be closed early, after handing it to a child.
struct Pipe {
  Pipe() { EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0); }
  ~Pipe() {
    close_write();
    close(fds[0]);
  }
  void close_write() {
    if (fds[1] >= 0) close(fds[1]);
    fds[1] = -1;
  }
  // Everything written until every write end is closed.
  std::string read_all() {
    close_write();
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
    return text;
  }
  // What is in the pipe now, without waiting for more.
  std::string read_available() {
    pollfd p{fds[0], POLLIN, 0};
    std::string text;
    char buf[4096];
    while (poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
      const ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
    return text;
  }
  int fds[2] = {-1, -1};
};

inline SpawnRequest request_for(std::vector<std::string> argv) {
  SpawnRequest request;
  request.argv = std::move(argv);
  request.env = {"PATH=/usr/bin:/bin"};
  return request;
}

inline SpawnRequest sleeper() { return request_for({"/bin/sleep", "30"}); }

// The text after "Field:" in /proc/PID/status, without surrounding blanks.
inline std::string status_text(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    const auto begin = line.find_first_not_of(" \t", field.size() + 1);
    if (begin == std::string::npos) return "";
    return line.substr(begin, line.find_last_not_of(" \t") + 1 - begin);
  }
  return "<missing>";
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The line of /proc/PID/limits that starts with `name` ("Max open files"), blanks
// collapsed: "Max open files 256 512 files".
inline std::string limits_line(pid_t pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) != 0) continue;
    std::string collapsed;
    for (char c : line)
      if (c != ' ' || (!collapsed.empty() && collapsed.back() != ' ')) collapsed += c;
    return collapsed.substr(0, collapsed.find_last_not_of(' ') + 1);
  }
  return "<missing>";
}

// The "Max locked memory" line of /proc/PID/limits, blanks collapsed.
inline std::string memlock_line(pid_t pid) { return limits_line(pid, "Max locked memory"); }

// The warnings of a spawn, one per line, for comparing in one EXPECT_EQ.
inline std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

inline std::set<std::string> open_fds(const std::string& pid) {
  std::set<std::string> fds;
  for (const auto& entry : fs::directory_iterator("/proc/" + pid + "/fd"))
    fds.insert(entry.path().filename().string());
  return fds;
}

inline bool has_children() {
  siginfo_t info{};
  return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

}  // namespace duende::supervisor::spawn_test
