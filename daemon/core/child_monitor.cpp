// The half of Child that watches the lock: what the child reports on the notify socket,
// what /proc says about it, and what happens when a lock is lost.
#include <cerrno>
#include <cstring>
#include <string>

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
  if (!(memory_ == before)) ctx_.listener.on_child_event(*this, ChildListener::Event::Changed);
  check_locked_readiness();
  check_lock();
}

void Child::check_lock() {
  if (state_ != ChildState::Running || !must_be_locked()) return;
  const bool lost =
      memory_.locked_bytes == 0 || memory_.swapped_bytes > 0 || unlocked_mappings() > 0;
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
  log_warning(name() + ": lost its lock: VmLck " + std::to_string(memory_.locked_bytes / 1024) +
              " KiB, VmSwap " + std::to_string(memory_.swapped_bytes / 1024) + " KiB" + partly +
              (spec_.on_lock_lost == OnLockLost::Restart ? "; restarting" : ""));
  ctx_.listener.on_child_event(*this, ChildListener::Event::LockLost);
  if (spec_.on_lock_lost == OnLockLost::Restart) restart(false);
}

std::string Child::lock_report_text() const {
  return report_ ? duende::supervisor::lock_report_text(*report_) : "";
}

}  // namespace duende::supervisor
