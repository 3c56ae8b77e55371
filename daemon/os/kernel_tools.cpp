// KernelSystem's helpers run for the supervisor itself (mkswap, swapon, swapoff) and its
// read of /proc/swaps. A helper is watched by its pidfd in the loop like a child; its
// output goes to a memory file, read once after it ended, so nothing can block on it.
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "os/cgroup.hpp"
#include "os/kernel_system.hpp"
#include "os/log.hpp"

namespace duende::supervisor {
namespace {

std::string read_output(int fd) {
  std::string out(ToolResult::kMaxToolOutput, '\0');
  const ssize_t n = ::pread(fd, out.data(), out.size(), 0);
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

}  // namespace

mlock::Result<int, SpawnError> KernelSystem::run_tool(const std::vector<std::string>& argv,
                                                      std::function<void(ToolResult)> on_exit) {
  const int memfd = ::memfd_create("mlock-supervisor-tool", MFD_CLOEXEC);
  if (memfd < 0) return mlock::Unexpected(SpawnError{"memfd_create", errno});
  SpawnRequest req;
  req.argv = argv;
  req.env = {"LANG=C", "LC_ALL=C"};
  req.stdout_fd = req.stderr_fd = memfd;
  req.nofile_limit = child_nofile_;
  auto spawned = spawn_process(req);  // no cgroup_procs_fd: it stays in ours
  if (!spawned) {
    ::close(memfd);
    return mlock::Unexpected(spawned.error());
  }
  const int id = spawned->pidfd;
  watch(spawned->pid);  // not a stray for reap_strays()
  tools_[id] = Tool{spawned->pid, memfd, std::move(on_exit)};
  try {
    loop_.add(id, EPOLLIN, [this, id](std::uint32_t) { on_tool_exit(id); });
  } catch (const std::system_error& e) {
    ::syscall(SYS_pidfd_send_signal, id, SIGKILL, nullptr, 0);
    siginfo_t info{};
    ::waitid(kIdPidfd, static_cast<id_t>(id), &info, WEXITED);
    unwatch(spawned->pid);
    tools_.erase(id);
    ::close(memfd);
    ::close(id);
    return mlock::Unexpected(SpawnError{"epoll_ctl", e.code().value()});
  }
  return id;
}

void KernelSystem::on_tool_exit(int id) {
  const auto it = tools_.find(id);
  if (it == tools_.end()) return;
  siginfo_t info{};
  if (::waitid(kIdPidfd, static_cast<id_t>(id), &info, WEXITED | WNOHANG) != 0 || info.si_pid == 0)
    return;  // not yet
  Tool tool = std::move(it->second);
  tools_.erase(it);
  loop_.remove(id);
  unwatch(tool.pid);
  ToolResult result{ExitStatus{info.si_code != CLD_EXITED, info.si_status},
                    read_output(tool.output_fd)};
  ::close(tool.output_fd);
  ::close(id);
  if (tool.on_exit) tool.on_exit(std::move(result));
}

void KernelSystem::release_tool(int id, bool kill) {
  const auto it = tools_.find(id);
  if (it == tools_.end()) return;
  it->second.on_exit = nullptr;  // still reaped by on_tool_exit() when it ends
  if (kill) ::syscall(SYS_pidfd_send_signal, id, SIGKILL, nullptr, 0);
}

mlock::Result<std::string, int> KernelSystem::read_proc_swaps() {
  auto text = read_pseudo_file("/proc/swaps", 256 * 1024);
  if (!text) return mlock::Unexpected(errno);
  return std::move(*text);
}

}  // namespace duende::supervisor
