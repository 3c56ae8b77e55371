#include "os/process_identity.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace duende::supervisor {
namespace {

// From <linux/pidfd.h> of Linux 6.15; Debian 12's headers predate it.
struct PidfdInfo {
  std::uint64_t mask;
  std::uint64_t cgroupid;
  std::uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  std::int32_t exit_code;
};
static_assert(sizeof(PidfdInfo) == 64, "PIDFD_INFO_SIZE_VER0");
constexpr std::uint64_t kPidfdInfoExit = 1u << 3;
constexpr unsigned long kPidfdGetInfo = _IOWR(0xFF, 11, PidfdInfo);

std::string read_small(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::optional<std::uint64_t> process_start_time(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  const std::string stat = read_small("/proc/" + std::to_string(pid) + "/stat");
  // "PID (COMM) S PPID ...": comm may hold spaces and parentheses, so count fields from
  // the last ')'. Field 3 (the state) follows it; the start time is field 22.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i)
    if (!(fields >> field)) return std::nullopt;
  try {
    return std::stoull(field);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string boot_id() {
  std::string id = read_small("/proc/sys/kernel/random/boot_id");
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

pid_t pidfd_pid(int fd) {
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Pid:", 0) == 0) {
      const long pid = std::strtol(line.c_str() + 4, nullptr, 10);
      return pid < 0 ? 0 : static_cast<pid_t>(pid);  // -1: reaped
    }
  return -1;
}

namespace {

mlock::Result<void, std::string> same_start(pid_t pid, std::uint64_t start_time) {
  const auto now = process_start_time(pid);
  if (!now) return mlock::Unexpected("pid " + std::to_string(pid) + " is not running");
  if (*now != start_time)
    return mlock::Unexpected("pid " + std::to_string(pid) + " is another process now (start time " +
                             std::to_string(*now) + ", expected " + std::to_string(start_time) +
                             ")");
  return {};
}

bool exited(int pidfd) {
  // A pidfd polls readable once its process has exited (a zombie counts).
  pollfd p{pidfd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

}  // namespace

mlock::Result<int, std::string> open_process(pid_t pid, std::uint64_t start_time) {
  if (pid <= 0) return mlock::Unexpected(std::string("no pid"));
  if (auto same = same_start(pid, start_time); !same) return mlock::Unexpected(same.error());
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0)
    return mlock::Unexpected("pid " + std::to_string(pid) +
                             ": pidfd_open: " + std::strerror(errno));
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  // Read again now that the pidfd pins the process: the pid was not reused in between.
  if (auto same = same_start(pid, start_time); !same || exited(fd)) {
    ::close(fd);
    return mlock::Unexpected(same ? "pid " + std::to_string(pid) + " has exited" : same.error());
  }
  return fd;
}

mlock::Result<void, std::string> check_pidfd(int fd, pid_t pid, std::uint64_t start_time) {
  const pid_t actual = pidfd_pid(fd);
  if (actual < 0) return mlock::Unexpected("descriptor " + std::to_string(fd) + " is not a pidfd");
  if (actual == 0 || exited(fd))
    return mlock::Unexpected("pid " + std::to_string(pid) + " has exited");
  if (actual != pid)
    return mlock::Unexpected("the pidfd names pid " + std::to_string(actual) + ", not " +
                             std::to_string(pid));
  return same_start(pid, start_time);
}

std::optional<int> pidfd_exit_status(int fd) {
  PidfdInfo info{};
  info.mask = kPidfdInfoExit;
  if (::ioctl(fd, kPidfdGetInfo, &info) != 0 || !(info.mask & kPidfdInfoExit)) return std::nullopt;
  return info.exit_code;
}

}  // namespace duende::supervisor
