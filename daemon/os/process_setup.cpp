#include "os/process_setup.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace duende::supervisor {

uid_t process_effective_uid() { return ::geteuid(); }

rlimit raise_fd_limit() {
  rlimit original{};
  if (::getrlimit(RLIMIT_NOFILE, &original) != 0) return original;
  if (original.rlim_cur < original.rlim_max) {
    rlimit raised = original;
    raised.rlim_cur = original.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &raised);
  }
  return original;
}

namespace {
std::uint64_t as_count(rlim_t value) {
  return value == RLIM_INFINITY ? UINT64_MAX : static_cast<std::uint64_t>(value);
}
}  // namespace

std::uint64_t fd_limit_now() {
  rlimit limit{};
  return ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? as_count(limit.rlim_cur) : UINT64_MAX;
}

std::uint64_t fd_limit_hard() {
  rlimit limit{};
  return ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? as_count(limit.rlim_max) : UINT64_MAX;
}

mlock::Result<void, std::string> make_directory(const std::string& directory) {
  if (::mkdir(directory.c_str(), 0755) != 0 && errno != EEXIST)
    return mlock::Unexpected("mkdir " + directory + ": " + std::strerror(errno));
  return {};
}

mlock::Result<SignalReader, std::string> SignalReader::open(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0)
    return mlock::Unexpected(std::string("sigprocmask: ") + std::strerror(errno));
  ::signal(SIGPIPE, SIG_IGN);
  const int fd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) return mlock::Unexpected(std::string("signalfd: ") + std::strerror(errno));
  return SignalReader(fd);
}

SignalReader::~SignalReader() {
  if (fd_ >= 0) ::close(fd_);
}

std::vector<int> SignalReader::read_pending() {
  std::vector<int> out;
  signalfd_siginfo info;
  while (::read(fd_, &info, sizeof info) == sizeof info)
    out.push_back(static_cast<int>(info.ssi_signo));
  return out;
}

}  // namespace duende::supervisor
