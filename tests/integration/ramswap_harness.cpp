// RamswapHarness: ramswap started, watched and cleaned up after, from outside.
#include "ramswap_harness.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/loop.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/swap.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "run_process.hpp"

namespace duende::itest {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const char* ramswap_unavailable_reason() {
#ifdef DUENDE_SANITIZED
  return "sanitizer build: ASan cannot lock its shadow memory, and ramswap must lock";
#else
  if (geteuid() != 0) return "needs root (FUSE mount, loop devices, swapon)";
  if (access("/dev/fuse", R_OK | W_OK) != 0) return "no /dev/fuse";
  if (access("/dev/loop-control", R_OK | W_OK) != 0) return "no /dev/loop-control";
  return nullptr;
#endif
}

RamswapHarness::RamswapHarness() {
  char tmpl[] = "/tmp/ramswap-test.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  mount_dir_ = dir_ + "/mnt";
  socket_path_ = dir_ + "/notify.sock";
  if (mkdir(mount_dir_.c_str(), 0700) != 0) throw std::runtime_error("mkdir failed");
  notify_fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path_.c_str(), sizeof addr.sun_path - 1);
  if (bind(notify_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("bind of the notify socket failed");
}

RamswapHarness::~RamswapHarness() { cleanup(); }

void RamswapHarness::start(const std::vector<std::string>& args, bool with_mount) {
  int err_pipe[2], out_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe2 failed");
  std::vector<std::string> argv{kRamswapBin};
  argv.insert(argv.end(), args.begin(), args.end());
  if (with_mount) argv.insert(argv.end(), {"--mount", mount_dir_});
  const std::vector<std::string> env{"NOTIFY_SOCKET=" + socket_path_, "DUENDE_MLOCK_REPORT=1",
                                     "PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cargv.push_back(nullptr);
  cenv.push_back(nullptr);
  started_ = Clock::now();
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  close(err_pipe[1]);
  close(out_pipe[1]);
  err_fd_ = err_pipe[0];
  out_fd_ = out_pipe[0];
  fcntl(err_fd_, F_SETFL, O_NONBLOCK);
  fcntl(out_fd_, F_SETFL, O_NONBLOCK);
}

// Reads whatever the pipes and the socket hold now.
void RamswapHarness::drain() {
  char buf[4096];
  ssize_t n;
  if (err_fd_ >= 0)
    while ((n = read(err_fd_, buf, sizeof buf)) > 0) log_.append(buf, n);
  if (out_fd_ >= 0)
    while ((n = read(out_fd_, buf, sizeof buf)) > 0) out_.append(buf, n);
  while ((n = recv(notify_fd_, buf, sizeof buf, 0)) > 0) datagrams_.emplace_back(buf, n);
}

const std::string& RamswapHarness::log() { return drain(), log_; }
const std::string& RamswapHarness::stdout_text() { return drain(), out_; }
std::vector<std::string> RamswapHarness::notifications() { return drain(), datagrams_; }

std::string RamswapHarness::wait_ready() {
  const std::string field = "X_DUENDE_SWAP_DEVICE=";
  for (const auto until = Clock::now() + kRamswapDeadline; Clock::now() < until;) {
    drain();
    for (const auto& d : datagrams_) {
      const auto at = d.find(field);
      if (d.find("READY=1") == std::string::npos || at == std::string::npos) continue;
      ready_seconds_ = std::chrono::duration<double>(Clock::now() - started_).count();
      device_ = d.substr(at + field.size(), d.find('\n', at) - at - field.size());
      return device_;
    }
    if (!alive()) return "";
    std::this_thread::sleep_for(2ms);
  }
  return "";
}

bool RamswapHarness::wait_for_log(const std::string& text, std::chrono::milliseconds deadline) {
  for (const auto until = Clock::now() + deadline; Clock::now() < until;) {
    if (log().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

std::optional<int> RamswapHarness::wait_exit(std::chrono::milliseconds deadline) {
  for (const auto until = Clock::now() + deadline; !exit_code_ && pid_ > 0;) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_)
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    else if (Clock::now() >= until)
      break;
    else
      std::this_thread::sleep_for(10ms);
  }
  drain();
  return exit_code_;
}

void RamswapHarness::send_signal(int signal) const {
  if (pid_ > 0 && !exit_code_) kill(pid_, signal);
}

bool RamswapHarness::alive() { return pid_ > 0 && !wait_exit(0ms); }

bool RamswapHarness::swap_on() {
  const auto mkswap = test::run_process({"/sbin/mkswap", device_}, {"PATH=/usr/sbin:/usr/bin"});
  if (mkswap.exit_code != 0) {
    ADD_FAILURE() << "mkswap " << device_ << ": " << mkswap.err;
    return false;
  }
  const auto before = Clock::now();
  if (swapon(device_.c_str(), 0) != 0) {
    ADD_FAILURE() << "swapon " << device_ << ": " << std::strerror(errno);
    return false;
  }
  swapon_seconds_ = std::chrono::duration<double>(Clock::now() - before).count();
  swap_is_on_ = true;
  return true;
}

bool RamswapHarness::swap_off() {
  if (!swap_is_on_) return true;
  if (swapoff(device_.c_str()) != 0) {
    ADD_FAILURE() << "swapoff " << device_ << ": " << std::strerror(errno);
    return false;
  }
  swap_is_on_ = false;
  return true;
}

// The safe order, whatever state the test left: swap off first; ramswap stopped only
// when that worked; then what a crashed ramswap may have left behind.
void RamswapHarness::cleanup() {
  if (swap_is_on_ && !swap_off()) {
    ADD_FAILURE() << "swap still on " << device_ << ": leaving ramswap (pid " << pid_
                  << ") running rather than hanging the pages in it";
    return;
  }
  if (alive()) {
    send_signal(SIGTERM);
    if (!wait_exit()) {
      send_signal(SIGKILL);
      wait_exit();
    }
  }
  for (const auto& loop : loops_backed_by(image_path())) {
    const int fd = open(loop.c_str(), O_RDWR | O_CLOEXEC);
    if (fd >= 0) ioctl(fd, LOOP_CLR_FD, 0), close(fd);
  }
  if (is_mounted(mount_dir_)) umount2(mount_dir_.c_str(), MNT_DETACH);
  if (::testing::Test::HasFailure()) std::fprintf(stderr, "ramswap's log:\n%s\n", log().c_str());
  for (int fd : {notify_fd_, err_fd_, out_fd_})
    if (fd >= 0) close(fd);
  unlink(socket_path_.c_str());
  rmdir(mount_dir_.c_str());
  rmdir(dir_.c_str());
}

std::optional<std::uint64_t> swap_size_kib(const std::string& device) {
  std::ifstream in("/proc/swaps");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name, type;
    std::uint64_t size = 0;
    if (fields >> name >> type >> size && name == device) return size;
  }
  return std::nullopt;
}

std::string loop_attribute(const std::string& device, const std::string& attribute) {
  const std::string name = device.substr(device.rfind('/') + 1);
  std::ifstream in("/sys/block/" + name + "/loop/" + attribute);
  std::string line;
  std::getline(in, line);
  return line;
}

std::vector<std::string> loops_backed_by(const std::string& path) {
  std::vector<std::string> found;
  DIR* dir = opendir("/sys/block");
  if (dir == nullptr) return found;
  while (const dirent* entry = readdir(dir)) {
    const std::string device = std::string("/dev/") + entry->d_name;
    if (std::strncmp(entry->d_name, "loop", 4) == 0 &&
        loop_attribute(device, "backing_file") == path)
      found.push_back(device);
  }
  closedir(dir);
  return found;
}

bool is_mounted(const std::string& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mount_point;
    if (fields >> id >> parent >> devno >> root >> mount_point && mount_point == dir) return true;
  }
  return false;
}

}  // namespace duende::itest
