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
    log_warning(about(),
                name() + ": flooding the notify socket (more than " +
                    std::to_string(kFloodDatagramsPerSecond) +
                    " datagrams a second); its reports are checked against /proc at most every " +
                    std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       kReportRefreshInterval)
                                       .count()) +
                    " ms");
  if (message.lock) {
    const bool news = report_ != message.lock;
    report_ = message.lock;
    if (news) ctx_.listener.on_child_event(*this, ChildListener::Event::Changed);
    if (report_->is_failed() && must_be_locked())
      lock_failure_ = lock_failure_text(report_->failure_errno());
    if (last_report_refresh_ == Clock::time_point{} ||
        now - last_report_refresh_ >= kReportRefreshInterval) {
      last_report_refresh_ = now;
      refresh_memory(last_coverage_ == Clock::time_point{} ||
                     now - last_coverage_ >= full_check_interval);
    }
  }
  if (message.swap_device) note_swap_device(*message.swap_device);
  if (state_ == ChildState::Starting && spec_.ready == Readiness::Notify && message.ready)
    become_ready();
  else
    check_locked_readiness();
}

// A required io_flusher is set before mlockall(), and its failure ends the lock there
// (the library's lock_with_config()): a failed report from a process whose threads lack
// the flags is that prctl's, which the report's errno alone does not tell.
std::string Child::lock_failure_text(int error) {
  const std::string text = std::strerror(error);
  if (!spec_.mlock.io_flusher() || !spec_.mlock.required() || !is_active()) return "lock: " + text;
  // Gone already (it exits on a failed required lock): EPERM is what a refused prctl
  // gives, and mlockall() only with a zero RLIMIT_MEMLOCK.
  const auto threads = ctx_.system.inspect_io_flusher(process_.pid);
  if (!threads && error == EPERM)
    return "lock: PR_SET_IO_FLUSHER or mlockall: " + text +
           " (PR_SET_IO_FLUSHER needs CAP_SYS_RESOURCE)";
  if (!threads || threads->all_io_flushers()) return "lock: " + text;
  return "lock: PR_SET_IO_FLUSHER: " + text + " (it needs CAP_SYS_RESOURCE)";
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

void Child::check_lock() {
  if (state_ != ChildState::Running || !must_be_locked()) return;
  const bool lost = memory_.locked_bytes == 0 || swapped_bytes() > 0 || unlocked_mappings() > 0 ||
                    unlocked_processes() > 0;
  if (lost == lock_lost_) return;
  lock_lost_ = lost;
  // Counted before Changed goes out: observers (the bus) publish what they see then, and
  // nothing else may change afterwards to publish the count.
  if (lost) ++lock_losses_;
  ctx_.listener.on_child_event(*this, ChildListener::Event::Changed);
  if (!lost) {
    log_notice(about(), name() + ": locked again (VmLck " +
                            std::to_string(memory_.locked_bytes / 1024) + " KiB)");
    return;
  }
  log_warning(about(kMessageIdLockLost),
              name() + ": lost its lock: VmLck " + std::to_string(memory_.locked_bytes / 1024) +
                  " KiB, VmSwap " + std::to_string(memory_.swapped_bytes / 1024) + " KiB" +
                  lost_lock_details() +
                  (spec_.on_lock_lost == OnLockLost::Restart ? "; restarting" : ""));
  ctx_.listener.on_child_event(*this, ChildListener::Event::LockLost);
  if (spec_.on_lock_lost == OnLockLost::Restart) restart(false);
}

// What the "lost its lock" line says beyond VmLck and VmSwap: shared memory in swap, the
// unlocked mappings (the first one named) of a partial unlock, the unlocked processes.
std::string Child::lost_lock_details() const {
  std::string out;
  if (figures_.swapped_shmem_bytes > 0)
    out +=
        ", shared memory in swap " + std::to_string(figures_.swapped_shmem_bytes / 1024) + " KiB";
  if (unlocked_mappings() > 0 && memory_.locked_bytes > 0) {
    out += ", " + std::to_string(unlocked_mappings()) + " of " +
           std::to_string(memory_.lockable_mappings) + " lockable mappings unlocked";
    if (!figures_.first_unlocked_mapping.empty())
      out += " (first: " + escape_control(figures_.first_unlocked_mapping) + ")";
  }
  if (unlocked_processes() == 0) return out;
  std::string helpers;
  for (const TreeProcess& p : processes_)
    if (!p.locked && p.pid != static_cast<std::uint32_t>(process_.pid))
      helpers += (helpers.empty() ? ", unlocked: pid " : ", pid ") + std::to_string(p.pid) + " (" +
                 escape_control(p.comm) + ")";
  return out + helpers;
}

// A child asked to be an I/O flusher whose threads lack the flags: acted on as a lost lock.
void Child::check_io_flusher() {
  if (state_ != ChildState::Running || !spec_.mlock.io_flusher()) return;
  const bool lost = io_flusher_missing();
  if (lost == io_flusher_lost_) return;
  io_flusher_lost_ = lost;
  ctx_.listener.on_child_event(*this, ChildListener::Event::Changed);
  if (!lost) {
    log_notice(about(), name() + ": every thread carries IO_FLUSHER again");
    return;
  }
  const TreeFigures& f = figures_;
  log_warning(about(), name() + ": lacks IO_FLUSHER (PF_MEMALLOC_NOIO|PF_LOCAL_THROTTLE; " +
                           "PR_SET_IO_FLUSHER needs CAP_SYS_RESOURCE): " +
                           std::to_string(f.threads - f.io_flusher_threads) + " of " +
                           std::to_string(f.threads) + " threads without it, first " +
                           escape_control(f.first_other_thread) +
                           (spec_.on_lock_lost == OnLockLost::Restart ? "; restarting" : ""));
  if (spec_.on_lock_lost == OnLockLost::Restart) restart(false);
}

// Under MCL_FUTURE an allocation that would lock past RLIMIT_MEMLOCK fails: said once per
// crossing below the mark (a tenth of the limit, and at least kLowHeadroomBytes), at most
// once per headroom_log_ period, for a process that is locked.
void Child::check_headroom() {
  const std::uint64_t headroom = memlock_headroom_bytes();
  const bool low = headroom != kNoMemlockLimit && memory_.locked_bytes > 0 &&
                   (headroom < *figures_.memlock_limit / 10 || headroom < kLowHeadroomBytes);
  if (low == headroom_low_) return;
  headroom_low_ = low;
  unsigned suppressed = 0;
  if (!low || !headroom_log_.allow(ctx_.system.now(), suppressed)) return;
  log_warning(
      about(),
      name() + ": memlock headroom low: " + std::to_string(headroom / 1024) +
          " KiB left of RLIMIT_MEMLOCK " + std::to_string(*figures_.memlock_limit / 1024) +
          " KiB (VmLck of pid " + std::to_string(process_.pid) + " " +
          std::to_string(processes_[0].locked_bytes / 1024) +
          " KiB); MCL_FUTURE makes later allocations fail at the limit" +
          (suppressed ? " (" + std::to_string(suppressed) + " such lines suppressed)" : ""));
}

// memory.events oom_kill of its cgroup: each rise is said, and counted in oom_kills().
void Child::check_oom_kills() {
  if (!is_active()) return;
  const std::uint64_t now = ctx_.system.oom_kills(process_);
  const std::uint64_t seen = oom_seen_.value_or(now);
  oom_seen_ = now;
  if (now <= seen) return;
  oom_kills_ += now - seen;
  log_warning(about(), name() + ": the OOM killer ended " + std::to_string(now - seen) +
                           " process" + (now - seen == 1 ? "" : "es") + " of its cgroup (" +
                           std::to_string(oom_kills_) + " in all)");
  ctx_.listener.on_child_event(*this, ChildListener::Event::Changed);
}

std::string Child::lock_report_text() const {
  return report_ ? duende::supervisor::lock_report_text(*report_) : "";
}

}  // namespace duende::supervisor
