// The half of KernelSystem that keeps a child's processes together: its cgroup, the
// processes in it, following the tree when the main process exits, and reaping the
// orphans that come to the supervisor as the children's subreaper.
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "os/kernel_system.hpp"
#include "os/log.hpp"
#include "os/process_identity.hpp"

namespace duende::supervisor {

// The child's cgroup for `req` (its path in req.cgroup): its open directory, where the
// child starts, or -1 to start it without one (said once: the child matters more than its cgroup).
int KernelSystem::join_cgroup(const std::string& name, SpawnRequest& req) {
  if (!cgroups_.usable()) return -1;
  std::vector<pid_t> leftovers;
  std::string warning;
  auto path = cgroups_.prepare_child(name, req.forbid_swap, leftovers, warning);
  if (!warning.empty()) log_warning(name + ": " + warning);
  int fd = path ? Cgroups::open_directory(*path) : -1;
  const int error = path ? errno : path.error();
  if (fd < 0) {
    if (!cgroup_warned_++)
      log_warning(name + ": starting without a cgroup of its own (" + std::strerror(error) +
                  "); a process it forks away is not tracked");
    return -1;
  }
  if (!leftovers.empty()) {
    std::string pids;
    for (const pid_t p : leftovers) pids += (pids.empty() ? "" : " ") + std::to_string(p);
    log_warning(name + ": killed processes left in its cgroup by an earlier start (pid " + pids +
                "): two copies of one child must never run");
  }
  req.cgroup_fd = fd;
  req.cgroup = *path;
  return fd;
}

// Says once that children start outside their cgroups and move in (clone3 refused), and why.
void KernelSystem::note_cgroup_start(const SpawnedProcess& spawned) {
  if (spawned.clone3_error == 0 || clone3_noted_) return;
  clone3_noted_ = true;
  log_notice(std::string("children move into their cgroups after they start: clone3 cannot "
                         "start them there (") +
             std::strerror(spawned.clone3_error) +
             (spawned.clone3_error == ENOSYS
                  ? ": a seccomp filter such as systemd's RestrictNamespaces=, or a kernel "
                    "before 5.3"
              : spawned.clone3_error == E2BIG ? ": a kernel before 5.7"
                                              : "") +
             "); each start waits for an RCU grace period, some milliseconds");
}

void KernelSystem::unwatch(pid_t pid) {
  const auto it = watched_.find(pid);
  if (it != watched_.end() && --it->second == 0) watched_.erase(it);
}

ProcessTracking KernelSystem::process_tracking() {
  return ProcessTracking{cgroups_.usable(), cgroups_.description()};
}

std::vector<pid_t> KernelSystem::processes(const ProcessHandle& process) {
  if (process.cgroup.empty()) return {process.pid};
  const auto text =
      kept_.read(process.cgroup + "/cgroup.procs", Cgroups::procs_bytes(kMaxTreeProcesses));
  std::vector<pid_t> pids;
  if (text) pids = Cgroups::processes_in(*text, kMaxTreeProcesses);
  if (std::find(pids.begin(), pids.end(), process.pid) == pids.end() &&
      pids.size() < kMaxTreeProcesses)
    pids.insert(pids.begin(), process.pid);  // exiting: gone from cgroup.procs, not yet reaped
  return pids;
}

mlock::Result<ProcessHandle, std::string> KernelSystem::follow(const ProcessHandle& ended,
                                                               std::function<void()> on_exit) {
  if (ended.cgroup.empty()) return mlock::Unexpected(std::string("it has no cgroup"));
  // Each one listed may exit before it is pinned (the middle of a double fork: it forks and
  // exits at once), but never without leaving the process it forked in the cgroup: so read
  // the list again while the cgroup has processes. Each round is one small read.
  for (int round = 0; round < kFollowRounds; ++round) {
    // The oldest first: a daemon's main process is usually the first its parent forked.
    std::vector<std::pair<std::uint64_t, pid_t>> candidates;
    for (const pid_t pid : Cgroups::processes(ended.cgroup, kMaxTreeProcesses))
      if (pid != ended.pid)
        if (const auto start = process_start_time(pid)) candidates.emplace_back(*start, pid);
    if (candidates.empty() && !Cgroups::populated(ended.cgroup)) break;
    std::sort(candidates.begin(), candidates.end());
    for (const auto& [start, pid] : candidates) {
      // Known to be in the child's cgroup: no need to read it from /proc as adopt() does.
      auto followed = watch_process(Adoption{pid, start, -1}, on_exit);
      if (!followed) continue;  // it exited meanwhile: the next one
      followed->cgroup = ended.cgroup;
      return followed;
    }
  }
  return mlock::Unexpected(std::string("its cgroup has no process left"));
}

std::uint64_t KernelSystem::oom_kills(const ProcessHandle& process) {
  return process.cgroup.empty() || !cgroups_.memory_controller()
             ? 0
             : Cgroups::oom_kills(process.cgroup);
}

std::string KernelSystem::cgroup_of(pid_t pid) { return Cgroups::cgroup_of(pid, cgroups_.mount()); }

std::string KernelSystem::process_name(pid_t pid) {
  auto text = read_pseudo_file("/proc/" + std::to_string(pid) + "/comm", 64);
  if (!text) return {};
  if (!text->empty() && text->back() == '\n') text->pop_back();
  return *text;
}

void KernelSystem::reap_strays(pid_t keep) {
  const std::string self = std::to_string(::getpid());
  const auto text = read_pseudo_file("/proc/" + self + "/task/" + self + "/children", 64 * 1024);
  if (!text) return;
  for (const pid_t pid : parse_pid_list(*text)) {
    if (pid == keep || watched_.count(pid)) continue;
    siginfo_t info{};
    ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG);
  }
}

}  // namespace duende::supervisor
