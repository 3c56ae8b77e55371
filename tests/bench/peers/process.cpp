#include "process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "proc_reader.hpp"

namespace duende::peers {
namespace {

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

pid_t spawn(const SpawnOptions& o) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  posix_spawn_file_actions_adddup2(&actions, null_fd, 0);
  posix_spawn_file_actions_adddup2(&actions, o.out_fd >= 0 ? o.out_fd : null_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, o.err_fd >= 0 ? o.err_fd : null_fd, 2);
  if (!o.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, o.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  auto argv = c_strings(o.argv);
  auto envp = c_strings(o.env);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(null_fd);
  if (rc != 0) throw std::runtime_error("spawn " + o.argv[0] + ": " + std::strerror(rc));
  return pid;
}

RunResult run(const SpawnOptions& options) {
  const auto start = Clock::now();
  const pid_t pid = spawn(options);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  RunResult r;
  r.ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return r;
}

ProcessId identify(pid_t pid) { return {pid, start_time(pid)}; }

bool alive(const ProcessId& id) {
  if (id.pid <= 0 || start_time(id.pid) != id.start) return false;
  const std::string stat = read_text("/proc/" + std::to_string(id.pid) + "/stat");
  const auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

void reap_exited() {
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

bool stop_processes(const ProcessId& first, int signo, const std::vector<ProcessId>& all,
                    std::chrono::milliseconds grace) {
  if (alive(first)) kill(first.pid, signo);
  auto any_left = [&] {
    reap_exited();
    for (const auto& id : all)
      if (alive(id)) return true;
    return false;
  };
  const auto end = Clock::now() + grace;
  while (any_left() && Clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  for (const auto& id : all)
    if (alive(id)) kill(id.pid, SIGKILL);
  const auto kill_end = Clock::now() + std::chrono::seconds(10);
  while (any_left() && Clock::now() < kill_end)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return !any_left();
}

bool kill_all(const std::vector<ProcessId>& all) {
  for (const auto& id : all)
    if (alive(id)) kill(id.pid, SIGKILL);
  return stop_processes({}, 0, all, std::chrono::seconds(10));
}

std::vector<std::string> base_environment(const std::string& bench_socket) {
  return {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
          "BENCH_SOCKET=" + bench_socket};
}

}  // namespace duende::peers
