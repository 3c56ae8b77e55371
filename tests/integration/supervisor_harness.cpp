#include "supervisor_harness.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "privilege.hpp"

namespace duende::itest {

namespace fs = std::filesystem;
using Ms = std::chrono::milliseconds;

namespace {

constexpr Ms kPoll{10};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::string socket_path_checked(const std::string& path) {
  if (path.size() >= sizeof(sockaddr_un{}.sun_path))
    throw std::runtime_error("socket path too long: " + path);
  return path;
}

// The exit code of a wait status: the code, or -N for signal N.
int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1000;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

bool eventually(const std::function<bool()>& predicate, Ms deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (true) {
    if (predicate()) return true;
    if (std::chrono::steady_clock::now() >= end) return predicate();
    std::this_thread::sleep_for(kPoll);
  }
}

}  // namespace

bool Harness::wait_until(const std::function<bool()>& predicate, Ms deadline) {
  bool gone = false;
  const bool met = eventually(
      [&] {
        gone = reap();
        drain_notifications();
        if (on_poll) on_poll();
        return predicate() || gone;
      },
      deadline);
  // A daemon that has exited will not make anything happen any more: no use waiting.
  return met && (!gone || predicate());
}

bool Harness::reap() {
  if (pid_ <= 0 || exit_code_) return pid_ > 0;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) exit_code_ = exit_code_of(status);
  return exit_code_.has_value();
}

void Harness::pause(long ms) {
  wait_until([] { return false; }, Ms(ms));
}

Json test_child(const std::vector<std::string>& args) {
  Json exec = Json::array({kTestChildBin});
  for (const auto& a : args) exec.push_back(a);
  return Json{{"exec", exec},           {"preload", false},      {"oom_score_adj", 0},
              {"start_timeout_sec", 5}, {"stop_timeout_sec", 2}, {"restart_sec", 0.05},
              {"restart_max_sec", 0.5}};
}

Json unlocked_child(const std::vector<std::string>& args, const std::string& ready) {
  Json c = test_child(args);
  c["ready"] = ready;
  c["mlock"] = {{"required", false}};
  return c;
}

std::optional<double> number_after(const std::string& text, const std::string& marker) {
  const auto at = text.find(marker);
  if (at == std::string::npos) return std::nullopt;
  const char* begin = text.c_str() + at + marker.size();
  char* end = nullptr;
  const double value = std::strtod(begin, &end);
  if (end == begin) return std::nullopt;
  return value;
}

pid_t read_pid(const std::string& path) {
  std::ifstream in(path);
  long pid = 0;
  return in >> pid ? static_cast<pid_t>(pid) : 0;
}

bool process_alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  const auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z' &&
         stat[paren + 2] != 'X';
}

Harness::Harness() {
  std::string tmpl = (fs::temp_directory_path() / "mlock-it-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp: " + std::string(strerror(errno)));
  dir_ = tmpl;
  bus_address_ = no_bus_address();
  fs::create_directory(dropin_dir());
  fs::create_directory(runtime_dir());
  config = Json{{"self", {{"mlock", {{"required", geteuid() == 0}}}}},
                {"monitor_interval_sec", 0.1},
                {"children", Json::object()}};

  sink_fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (sink_fd_ < 0) throw std::runtime_error("socket: " + std::string(strerror(errno)));
  const int on = 1;
  setsockopt(sink_fd_, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string sink = socket_path_checked(path("systemd-notify"));
  std::memcpy(addr.sun_path, sink.c_str(), sink.size());
  if (bind(sink_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("bind " + sink + ": " + strerror(errno));
}

Harness::~Harness() {
  if (pid_ > 0 && !exit_code_) {
    send_signal(SIGTERM);
    if (!wait_exit()) {
      send_signal(SIGKILL);
      wait_exit();
    }
  }
  if (fifo_fd_ >= 0) read_stderr_fifo();  // the children's pids are in there
  kill_leftover_children();
  if (testing::Test::HasFailure() || std::getenv("MLOCK_IT_SHOW_LOG")) {
    std::cout << "---- mlock-supervisor log (" << dir_ << "; exit "
              << (exit_code_ ? std::to_string(*exit_code_) : "-") << ") ----\n"
              << log_text();
    std::cout << "---- notifications ----\n";
    for (const auto& n : notifications()) {
      std::string text = n.text;
      for (auto at = text.find('\n'); at != std::string::npos; at = text.find('\n', at))
        text.replace(at, 1, "\\n");
      std::cout << "[pid " << n.sender << "] " << text << "\n";
    }
    std::cout << "----\n";
  }
  if (sink_fd_ >= 0) close(sink_fd_);
  if (fifo_fd_ >= 0) close(fifo_fd_);
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

void Harness::write_file(const std::string& file, const std::string& text) const {
  const std::string tmp = file + ".tmp~";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  fs::rename(tmp, file);  // the daemon never reads half a file
}

void Harness::write_config() const { write_file(config_file(), config.dump(2) + "\n"); }

std::vector<std::string> Harness::environment(bool with_notify_socket) const {
  std::vector<std::string> env = {
      "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
      "RUNTIME_DIRECTORY=" + runtime_dir(),
      "DBUS_SYSTEM_BUS_ADDRESS=" + bus_address_,
      // Children must start from a clean environment: this must never reach them.
      "MLOCK_IT_SHOULD_NOT_LEAK=1",
  };
  if (with_notify_socket) env.push_back("NOTIFY_SOCKET=" + path("systemd-notify"));
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"})
    if (const char* value = std::getenv(name)) env.push_back(std::string(name) + "=" + value);
  return env;
}

namespace {

// Where cgroup2 is mounted (the fifth field of each "cgroup2" line of mountinfo).
std::vector<std::string> cgroup2_mount_points() {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(" - cgroup2 ") == std::string::npos) continue;
    std::istringstream fields(line);
    std::string f[5];
    for (auto& x : f) fields >> x;
    out.push_back(f[4]);
  }
  return out;
}

}  // namespace

void Harness::start(const Launch& launch) {
  if (pid_ > 0 && !exit_code_) throw std::logic_error("the supervisor is already started");
  if (launch.write_config) write_config();
  bus_address_ = launch.bus_address.value_or(no_bus_address());
  std::vector<std::string> argv = {kSupervisorBin, "--config", config_file(), "--config-dir",
                                   dropin_dir()};
  if (launch.preload_option) argv.insert(argv.end(), {"--preload", *launch.preload_option});
  std::vector<std::string> env = environment(true);
  env.insert(env.end(), launch.extra_environment.begin(), launch.extra_environment.end());
  // WATCHDOG_PID must be the daemon's own pid: filled in by the forked child.
  char watchdog_pid[64] = "WATCHDOG_PID=0";
  if (launch.watchdog_usec) env.push_back("WATCHDOG_USEC=" + std::to_string(*launch.watchdog_usec));
  std::vector<char*> args = c_strings(argv);
  std::vector<char*> envp = c_strings(env);
  if (launch.watchdog_usec) envp.insert(envp.end() - 1, watchdog_pid);
  const int log_fd =
      open(path("daemon.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0)
    throw std::runtime_error("open log: " + std::string(strerror(errno)));
  int err_fd = log_fd;
  if (launch.stderr_fifo) {
    const std::string& fifo = *launch.stderr_fifo;
    if (mkfifo(fifo.c_str(), 0600) != 0 && errno != EEXIST)
      throw std::runtime_error("mkfifo " + fifo + ": " + strerror(errno));
    // Read-write: an open for writing alone would wait for a reader. The daemon gets this
    // (blocking) description; we read through one of our own.
    err_fd = open(fifo.c_str(), O_RDWR | O_CLOEXEC);
    fifo_fd_ = open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (err_fd < 0 || fifo_fd_ < 0)
      throw std::runtime_error("open " + fifo + ": " + strerror(errno));
  }
  std::vector<std::string> cgroup2_mounts;
  if (launch.without_cgroup2) cgroup2_mounts = cgroup2_mount_points();
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork: " + std::string(strerror(errno)));
  if (pid == 0) {
    if (launch.without_cgroup2) {
      if (unshare(CLONE_NEWNS) != 0 ||
          mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        _exit(125);
      for (const std::string& m : cgroup2_mounts)
        if (umount2(m.c_str(), MNT_DETACH) != 0) _exit(125);
    }
    std::snprintf(watchdog_pid, sizeof watchdog_pid, "WATCHDOG_PID=%d", static_cast<int>(getpid()));
    dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(err_fd, 2);
    if (launch.drop_ipc_lock && !duende::test::drop_capability(CAP_IPC_LOCK)) _exit(126);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(log_fd);
  close(null_fd);
  if (err_fd != log_fd) close(err_fd);
  pid_ = pid;
  exit_code_.reset();
}

void Harness::send_signal(int signo) const {
  if (pid_ > 0 && !exit_code_) kill(pid_, signo);
}

std::optional<int> Harness::wait_exit(Ms deadline) {
  if (exit_code_ || pid_ <= 0) return exit_code_;
  wait_until([&] { return reap(); }, deadline);
  return exit_code_;
}

std::optional<int> Harness::stop() {
  send_signal(SIGTERM);
  return wait_exit();
}

RunResult Harness::run_cli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {kSupervisorBin};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> env = environment(false);
  std::vector<char*> c_argv = c_strings(argv);
  std::vector<char*> c_env = c_strings(env);
  const std::string out_file = path("cli.out"), err_file = path("cli.err");
  const int out = open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int err = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0 || err < 0) throw std::runtime_error("open: " + std::string(strerror(errno)));
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork: " + std::string(strerror(errno)));
  if (pid == 0) {
    dup2(out, 1);
    dup2(err, 2);
    execve(c_argv[0], c_argv.data(), c_env.data());
    _exit(127);
  }
  close(out);
  close(err);
  RunResult result;
  int status = 0;
  // The commands run here finish at once; the deadline guards against a hang.
  const bool done = eventually([&] { return waitpid(pid, &status, WNOHANG) == pid; }, kDeadline);
  if (!done) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  result.exit_code = exit_code_of(status);
  result.out = read_file(out_file);
  result.err = read_file(err_file);
  return result;
}

std::string Harness::log_text() const { return read_file(path("daemon.log")) + fifo_text_; }

std::string Harness::read_stderr_fifo() {
  std::string text;
  char buf[65536];
  while (fifo_fd_ >= 0) {
    const ssize_t n = read(fifo_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EAGAIN: empty for now
    text.append(buf, static_cast<std::size_t>(n));
  }
  fifo_text_ += text;
  return text;
}

std::vector<std::string> Harness::daemon_lines() const {
  std::vector<std::string> lines;
  for (auto& line : split_lines(log_text()))
    if (line.size() >= 3 && line[0] == '<' && line[2] == '>') lines.push_back(std::move(line));
  return lines;
}

int Harness::count(const std::string& needle) const {
  int n = 0;
  for (const auto& line : daemon_lines())
    if (line.find(needle) != std::string::npos) ++n;
  return n;
}

int Harness::line_index(const std::string& needle, int nth) const {
  const auto lines = daemon_lines();
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (lines[i].find(needle) != std::string::npos && --nth == 0) return static_cast<int>(i);
  return -1;
}

bool Harness::wait_for_log(const std::string& needle, int n) {
  return wait_until([&] { return count(needle) >= n; });
}

std::vector<pid_t> Harness::child_pids(const std::string& name) const {
  std::vector<pid_t> pids;
  const std::string prefix = name + ": started, pid ";
  for (const auto& line : daemon_lines()) {
    const std::string text = line.substr(3);
    if (text.rfind(prefix, 0) == 0) pids.push_back(std::stoi(text.substr(prefix.size())));
  }
  return pids;
}

pid_t Harness::wait_child_pid(const std::string& name, int nth) {
  pid_t pid = 0;
  wait_until([&] {
    const auto pids = child_pids(name);
    if (pids.size() >= static_cast<std::size_t>(nth)) pid = pids[nth - 1];
    return pid != 0;
  });
  return pid;
}

void Harness::drain_notifications() {
  char buf[8192];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * 8)];
  while (true) {
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = recvmsg(sink_fd_, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    Notification note;
    note.text.assign(buf, static_cast<std::size_t>(n));
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
        ucred cred;
        std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
        note.sender = cred.pid;
      } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        const std::size_t fds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < fds; ++i) {
          int fd;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
          close(fd);
        }
      }
    }
    notifications_.push_back(std::move(note));
  }
}

const std::vector<Notification>& Harness::notifications() {
  drain_notifications();
  return notifications_;
}

int Harness::find_notification(const std::string& needle, std::size_t from) {
  const auto& all = notifications();
  for (std::size_t i = from; i < all.size(); ++i)
    if (all[i].text.find(needle) != std::string::npos) return static_cast<int>(i);
  return -1;
}

int Harness::wait_for_notification(const std::string& needle, std::size_t from) {
  int index = -1;
  wait_until([&] { return (index = find_notification(needle, from)) >= 0; });
  return index;
}

std::string Harness::last_status() {
  const auto& all = notifications();
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    for (const auto& line : split_lines(it->text))
      if (line.rfind("STATUS=", 0) == 0) return line.substr(7);
  }
  return "";
}

bool Harness::wait_for_status(const std::string& needle) {
  return wait_until([&] { return last_status().find(needle) != std::string::npos; });
}

void Harness::kill_leftover_children() const {
  std::error_code ec;
  const fs::path child_exe = fs::canonical(kTestChildBin, ec);
  for (const auto& line : daemon_lines()) {
    const auto number = number_after(line, ": started, pid ");
    if (!number) continue;
    const auto pid = static_cast<pid_t>(*number);
    // Only a process still running one of our programs: never a recycled pid.
    const fs::path exe = fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
    if (ec || !process_alive(pid)) continue;
    if (exe == child_exe || exe == "/usr/bin/sleep" || exe == "/bin/sleep") kill(pid, SIGKILL);
  }
}

}  // namespace duende::itest
