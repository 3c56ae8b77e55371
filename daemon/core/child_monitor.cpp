// The half of Child that watches the lock: what the child reports on the notify socket,
// what /proc says about it, and what happens when a lock is lost.
#include <cerrno>
#include <cstring>
#include <string>

#include "api/text_escape.hpp"
#include "core/child.hpp"
#include "os/log.hpp"

namespace duende::supervisor {

// A report is cheap to take and costly to verify (/proc reads): however many a child
// sends, /proc is read at most every kReportRefreshInterval for them, and the smaps
// coverage walk at most once per full_check_interval. A flood is said once a minute.
void Child::handle_notify(const NotifyMessage& message, Clock::duration full_check_interval) {
  const Clock::time_point now = ctx_.system.now();
  if (now - report_window_ >= std::chrono::seconds(1)) {
    report_window_ = now;
    datagrams_in_window_ = 0;
  }
  unsigned suppressed = 0;
  if (++datagrams_in_window_ == kFloodDatagramsPerSecond + 1 && flood_log_.allow(now, suppressed))
    log_warning(
        name() + ": flooding the notify socket (more than " +
        std::to_string(kFloodDatagramsPerSecond) +
        " datagrams a second); its reports are checked against /proc at most every " +
        std::to_string(
            std::chrono::duration_cast<std::chrono::milliseconds>(kReportRefreshInterval).count()) +
        " ms");
  if (message.lock) {
    const bool news = report_ != message.lock;
    report_ = message.lock;
    if (news) ctx_.listener.on_child_event(*this, ChildListener::Event::Changed);
    if (report_->is_failed() && must_be_locked())
      lock_failure_ = "lock: " + std::string(std::strerror(report_->failure_errno()));
    if (last_report_refresh_ == Clock::time_point{} ||
        now - last_report_refresh_ >= kReportRefreshInterval) {
      last_report_refresh_ = now;
      refresh_memory(last_coverage_ == Clock::time_point{} ||
                     now - last_coverage_ >= full_check_interval);
    }
  }
  if (state_ == ChildState::Starting && spec_.ready == Readiness::Notify && message.ready)
    become_ready();
  else
    check_locked_readiness();
}

// "locked" readiness: the child reported locked and /proc shows VmLck > 0. Checked on
// every report and every refresh, since the two need not agree at the same moment (a
// wrapper that exec()s the real program reports, then loses its lock in execve() until
// the new image locks again).
void Child::check_locked_readiness() {
  if (state_ != ChildState::Starting || spec_.ready != Readiness::Locked || !report_) return;
  if (!must_be_locked() || (report_->is_locked() && memory_.locked_bytes > 0))
    become_ready();
  else if (!report_->is_locked())
    fail_start(lock_failure_.empty() ? "lock: " + duende::supervisor::lock_report_text(*report_)
                                     : lock_failure_);
}

void Child::refresh_memory(bool coverage) {
  if (!is_active()) return;
  const pid_t pid = process_.pid;
  auto m = ctx_.system.inspect(pid, coverage);
  // smaps may be refused (another user's child without CAP_SYS_PTRACE) while status is
  // still readable: VmLck and VmSwap alone still tell locked from not.
  if (!m && coverage && (m.error().error_number == EACCES || m.error().error_number == EPERM)) {
    if (!inspect_warned_)
      log_warning(name() + ": " + m.error().message + "; checking VmLck and VmSwap only");
    inspect_warned_ = true;
    m = ctx_.system.inspect(pid, false);
  }
  if (!m) {
    // ESRCH: it is exiting and its pidfd will say so. Anything else is worth a line, once.
    if (m.error().error_number != ESRCH && !inspect_warned_)
      log_warning(name() + ": " + m.error().message);
    inspect_warned_ = m.error().error_number != ESRCH;
    return;
  }
  const duende::mlock::ProcessMemory before = memory_;
  const std::vector<TreeProcess> tree_before = processes_;
  const unsigned unlocked_before = unlocked_processes_;
  // Locked since the last smaps walk (it started, or exec()ed into a program that locks):
  // that walk's verdict is of an unlocked process, so walk again now, once.
  if (!coverage && m->locked_bytes > 0 && before.locked_bytes == 0 && before.coverage_checked) {
    refresh_memory(true);
    return;
  }
  memory_ = *m;
  if (coverage) last_coverage_ = ctx_.system.now();
  if (!coverage && before.coverage_checked) {  // keep the last coverage verdict
    memory_.coverage_checked = true;
    memory_.fully_locked = before.fully_locked;
    memory_.lockable_mappings = before.lockable_mappings;
    memory_.unlocked_mappings = before.unlocked_mappings;
  }
  refresh_tree(coverage, *m);
  if (!(memory_ == before) || processes_ != tree_before || unlocked_processes_ != unlocked_before)
    ctx_.listener.on_child_event(*this, ChildListener::Event::Changed);
  check_locked_readiness();
  check_lock();
}

// The other processes of its tree: their figures are added to the child's (memory_ holds
// the main process's when called), and one that runs unlocked for kTreeGrace while the
// child must be locked is counted. A process that exits meanwhile is left out.
void Child::refresh_tree(bool coverage, const mlock::ProcessMemory& main) {
  const Clock::time_point now = ctx_.system.now();
  std::vector<TreeProcess> tree;
  std::vector<Clock::time_point> seen;
  const auto add = [&](pid_t pid, const mlock::ProcessMemory& m) {
    std::size_t i = 0;
    while (i < processes_.size() && processes_[i].pid != static_cast<std::uint32_t>(pid)) ++i;
    const bool known = i < processes_.size();
    tree.push_back(TreeProcess{static_cast<std::uint32_t>(pid),
                               known ? processes_[i].comm : ctx_.system.process_name(pid),
                               m.locked_bytes > 0, m.locked_bytes, m.swapped_bytes});
    seen.push_back(known ? first_seen_[i] : now);
  };
  add(process_.pid, main);
  unsigned unlocked = 0;
  for (const pid_t pid : ctx_.system.processes(process_)) {
    if (pid == process_.pid) continue;
    auto m = ctx_.system.inspect(pid, coverage);
    if (!m && coverage && m.error().error_number != ESRCH) m = ctx_.system.inspect(pid, false);
    if (!m) continue;
    add(pid, *m);
    memory_.locked_bytes += m->locked_bytes;
    memory_.resident_bytes += m->resident_bytes;
    memory_.swapped_bytes += m->swapped_bytes;
    memory_.pinned_bytes += m->pinned_bytes;
    // A new process (between fork or exec and its own lock) is judged after the grace.
    if (now - seen.back() < kTreeGrace) continue;
    if (coverage && m->coverage_checked && memory_.coverage_checked) {
      memory_.lockable_mappings += m->lockable_mappings;
      memory_.unlocked_mappings += m->unlocked_mappings;
      memory_.fully_locked = memory_.fully_locked && m->fully_locked;
    }
    if (m->locked_bytes == 0) ++unlocked;
  }
  processes_ = std::move(tree);
  first_seen_ = std::move(seen);
  unlocked_processes_ = unlocked;
}

void Child::check_lock() {
  if (state_ != ChildState::Running || !must_be_locked()) return;
  const bool lost = memory_.locked_bytes == 0 || memory_.swapped_bytes > 0 ||
                    unlocked_mappings() > 0 || unlocked_processes() > 0;
  if (lost == lock_lost_) return;
  lock_lost_ = lost;
  ctx_.listener.on_child_event(*this, ChildListener::Event::Changed);
  if (!lost) {
    log_notice(name() + ": locked again (VmLck " + std::to_string(memory_.locked_bytes / 1024) +
               " KiB)");
    return;
  }
  const std::string partly = unlocked_mappings() > 0 && memory_.locked_bytes > 0
                                 ? ", " + std::to_string(unlocked_mappings()) + " of " +
                                       std::to_string(memory_.lockable_mappings) +
                                       " lockable mappings unlocked"
                                 : "";
  std::string helpers;
  for (const TreeProcess& p : processes_)
    if (!p.locked && p.pid != static_cast<std::uint32_t>(process_.pid))
      helpers += (helpers.empty() ? ", unlocked: pid " : ", pid ") + std::to_string(p.pid) + " (" +
                 escape_control(p.comm) + ")";
  log_warning(name() + ": lost its lock: VmLck " + std::to_string(memory_.locked_bytes / 1024) +
              " KiB, VmSwap " + std::to_string(memory_.swapped_bytes / 1024) + " KiB" + partly +
              (unlocked_processes() > 0 ? helpers : "") +
              (spec_.on_lock_lost == OnLockLost::Restart ? "; restarting" : ""));
  ctx_.listener.on_child_event(*this, ChildListener::Event::LockLost);
  if (spec_.on_lock_lost == OnLockLost::Restart) restart(false);
}

std::string Child::lock_report_text() const {
  return report_ ? duende::supervisor::lock_report_text(*report_) : "";
}

}  // namespace duende::supervisor
