// The half of Child that reads /proc: every process of its tree, its status on each
// refresh, its smaps (one walk) and its threads' flags on a full check, and the sums the
// child shows.
#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "core/child.hpp"
#include "os/log.hpp"

namespace duende::supervisor {

void Child::refresh_memory(bool coverage) {
  if (!is_active() || in_refresh_) return;
  in_refresh_ = true;
  refresh_process(coverage);
  in_refresh_ = false;
  maybe_turn_swap_on();
}

void Child::refresh_process(bool coverage) {
  auto m = ctx_.system.inspect(process_.pid);
  if (!m) {
    warn_inspect(m.error(), false);
    return;
  }
  const duende::mlock::ProcessMemory before = memory_;
  const TreeFigures figures_before = figures_;
  const unsigned unlocked_before = unlocked_processes_;
  // Locked since the last smaps walk (it started, or exec()ed into a program that locks):
  // that walk's verdict is of an unlocked process, so walk again now, once.
  if (m->locked_bytes > 0 && before.locked_bytes == 0 && before.coverage_checked) coverage = true;
  if (coverage) last_coverage_ = ctx_.system.now();
  const std::vector<TreeProcess> tree_before = refresh_tree(coverage, *m);
  if (!(memory_ == before) || processes_ != tree_before || !(figures_ == figures_before) ||
      unlocked_processes_ != unlocked_before)
    ctx_.listener.on_child_event(*this, ChildListener::Event::Changed);
  check_locked_readiness();
  check_lock();
  check_io_flusher();
  check_headroom();
  check_oom_kills();
}

// A /proc read that failed: ESRCH means it is exiting (its pidfd will say so); anything
// else is worth a line, once per process. True when it was refused (EACCES, EPERM).
bool Child::warn_inspect(const mlock::InspectError& error, bool smaps) {
  const bool refused = error.error_number == EACCES || error.error_number == EPERM;
  if (error.error_number != ESRCH && !inspect_warned_)
    log_warning(about(), name() + ": " + error.message +
                             (smaps && refused ? "; checking VmLck and VmSwap only" : ""));
  if (error.error_number != ESRCH) inspect_warned_ = true;
  return refused;
}

// Every process of its tree: the main one (`main`: its status just read) first, then the
// others of its cgroup; one that exits meanwhile is left out. Returns the tree as it was
// (moved out, not copied: this runs for every child every round).
std::vector<TreeProcess> Child::refresh_tree(bool coverage, const mlock::ProcessMemory& main) {
  const Clock::time_point now = ctx_.system.now();
  std::vector<TreeProcess> before = std::exchange(processes_, {});
  std::vector<ProcessChecks> checks_before = std::exchange(checks_, {});
  processes_.reserve(before.size());
  checks_.reserve(before.size());
  std::vector<mlock::ProcessMemory> status;
  status.reserve(before.size());
  const auto add = [&](pid_t pid, const mlock::ProcessMemory& m) {
    std::size_t i = 0;
    while (i < before.size() && before[i].pid != static_cast<std::uint32_t>(pid)) ++i;
    const bool known = i < before.size();
    processes_.push_back(TreeProcess{static_cast<std::uint32_t>(pid),
                                     known ? before[i].comm : ctx_.system.process_name(pid),
                                     m.locked_bytes > 0, m.locked_bytes, m.swapped_bytes});
    // A pid listed twice (recycled while cgroup.procs was read) takes the same checks.
    checks_.push_back(known ? checks_before[i] : ProcessChecks{now, {}, {}});
    read_checks(pid, coverage, !known, checks_.back());
    status.push_back(m);
  };
  add(process_.pid, main);
  for (const pid_t pid : ctx_.system.processes(process_)) {
    if (pid == process_.pid) continue;
    if (auto m = ctx_.system.inspect(pid)) add(pid, *m);
  }
  sum_tree(status);
  sum_io_flusher();
  return before;
}

// The full check of one process: its smaps walk (kept until the next; smaps refused, as
// for another user's child without CAP_SYS_PTRACE, leaves VmLck and VmSwap to judge by)
// and its threads' flags, which a process `first` seen also gets at once.
void Child::read_checks(pid_t pid, bool coverage, bool first, ProcessChecks& checks) {
  if (coverage) {
    auto detail = ctx_.system.inspect_detail(pid);
    if (detail)
      checks.detail = std::move(*detail);
    else if (pid == process_.pid && warn_inspect(detail.error(), true))
      checks.detail.reset();
  }
  if (coverage || first) {
    auto threads = ctx_.system.inspect_io_flusher(pid);
    if (threads) checks.io_flusher = std::move(*threads);
  }
}

// memory_ and figures_ from the processes' figures: status ones summed over the tree;
// the coverage verdict and the figures of the walks summed over the main process and
// those seen kTreeGrace ago or more (a new process is judged after the grace, as its
// unlocked state is); a process of the tree but the main one unlocked past it is counted.
void Child::sum_tree(const std::vector<mlock::ProcessMemory>& status) {
  const Clock::time_point now = ctx_.system.now();
  TreeFigures f;
  memory_ = status[0];
  memory_.coverage_checked = checks_[0].detail.has_value();
  memory_.fully_locked = memory_.coverage_checked;
  unsigned unlocked = 0;
  for (std::size_t i = 0; i < status.size(); ++i) {
    const mlock::ProcessMemory& m = status[i];
    const std::optional<mlock::MemoryDetail>& d = checks_[i].detail;
    if (i > 0) {
      memory_.locked_bytes += m.locked_bytes;
      memory_.resident_bytes += m.resident_bytes;
      memory_.swapped_bytes += m.swapped_bytes;
      memory_.pinned_bytes += m.pinned_bytes;
    }
    if (d) f.swapped_shmem_bytes += d->swapped_shmem_bytes;
    if (d) processes_[i].swapped_bytes += d->swapped_shmem_bytes;
    if (i > 0 && now - checks_[i].first_seen < kTreeGrace) continue;
    if (i > 0 && m.locked_bytes == 0) ++unlocked;
    if (!d || !memory_.coverage_checked) continue;
    memory_.lockable_mappings += d->lockable_mappings;
    memory_.unlocked_mappings += d->unlocked_mappings;
    memory_.fully_locked = memory_.fully_locked && d->fully_locked();
    f.resident_unlocked_bytes += d->resident_unlocked_bytes;
    if (f.first_unlocked_mapping.empty() && !d->first_unlocked_mapping.empty())
      f.first_unlocked_mapping = (i > 0 ? "pid " + std::to_string(processes_[i].pid) + ": " : "") +
                                 d->first_unlocked_mapping;
  }
  if (checks_[0].detail) f.memlock_limit = checks_[0].detail->memlock_limit_bytes;
  f.io_flusher_known = figures_.io_flusher_known;  // sum_io_flusher() decides
  figures_ = std::move(f);
  unlocked_processes_ = unlocked;
}

void Child::sum_io_flusher() {
  figures_.io_flusher_known = !checks_.empty();
  figures_.threads = figures_.io_flusher_threads = 0;
  figures_.first_other_thread.clear();
  for (std::size_t i = 0; i < checks_.size(); ++i) {
    const std::optional<mlock::IoFlusherThreads>& t = checks_[i].io_flusher;
    if (!t) {
      figures_.io_flusher_known = false;
      continue;
    }
    figures_.threads += t->threads;
    figures_.io_flusher_threads += t->io_flusher_threads;
    if (figures_.first_other_thread.empty() && t->first_other_tid != 0)
      figures_.first_other_thread = "pid " + std::to_string(processes_[i].pid) + " thread " +
                                    std::to_string(t->first_other_tid) + " (" +
                                    t->first_other_comm + ")";
  }
}

void Child::reset_figures() {
  memory_ = {};
  processes_.clear();
  checks_.clear();
  figures_ = {};
  unlocked_processes_ = 0;
}

// As spawn() decides it: root, or given CAP_IPC_LOCK as an ambient capability.
bool Child::holds_ipc_lock() const {
  return must_be_locked() || spec_.uid.value_or(ctx_.system.effective_uid()) == 0;
}

std::uint64_t Child::memlock_headroom_bytes() const {
  if (!is_active() || holds_ipc_lock() || !figures_.memlock_limit || processes_.empty())
    return kNoMemlockLimit;
  const std::uint64_t limit = *figures_.memlock_limit, locked = processes_[0].locked_bytes;
  return limit > locked ? limit - locked : 0;
}

}  // namespace duende::supervisor
