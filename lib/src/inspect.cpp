// inspect(): memory figures of any process, from /proc.
#include <cerrno>
#include <cstring>
#include <string>

#include "duende/mlock.hpp"
#include "proc_files.hpp"
#include "proc_smaps.hpp"
#include "proc_status.hpp"

namespace duende::mlock {
namespace {

Unexpected<InspectError> fail(pid_t pid, int error_number, const std::string& what) {
  return Unexpected(InspectError{error_number, "pid " + std::to_string(pid) + ": " + what});
}

// Errors of open()/read() on /proc/PID/...: ENOENT and ESRCH both mean the process is gone.
Unexpected<InspectError> read_failure(pid_t pid, const std::string& path, int e) {
  if (e == ENOENT || e == ESRCH) return fail(pid, ESRCH, "no such process");
  return fail(pid, e, path + ": " + std::strerror(e));
}

}  // namespace

Result<ProcessMemory, InspectError> inspect(pid_t pid, bool check_coverage) {
  if (pid <= 0) return fail(pid, EINVAL, "not a process id");
  const std::string dir = "/proc/" + std::to_string(pid);
  const auto status_text = internal::read_whole_file(dir + "/status");
  if (!status_text) return read_failure(pid, dir + "/status", status_text.error());
  const auto status = internal::parse_proc_status(*status_text);
  if (!status) return fail(pid, EINVAL, dir + "/status: " + status.error());
  if (status->state == 'Z' || status->state == 'X')
    return fail(pid, ESRCH, "process has exited (zombie): it has no memory");
  if (status->kernel_thread) return fail(pid, EINVAL, "a kernel thread has no user memory");
  // A process that is exiting has released its memory before it becomes a zombie.
  if (!status->vm_lck || !status->vm_rss)
    return fail(pid, ESRCH, "process is exiting (or a kernel thread): no memory figures");

  ProcessMemory m;
  m.pid = pid;
  m.locked_bytes = *status->vm_lck;
  m.resident_bytes = *status->vm_rss;
  m.swapped_bytes = status->vm_swap.value_or(0);
  m.pinned_bytes = status->vm_pin.value_or(0);
  if (!check_coverage) return m;

  const auto smaps_text = internal::read_whole_file(dir + "/smaps");
  if (!smaps_text) return read_failure(pid, dir + "/smaps", smaps_text.error());
  // An empty smaps means the process lost its memory map between the two reads.
  if (smaps_text->empty()) return fail(pid, ESRCH, "process has exited: empty smaps");
  const auto coverage = internal::parse_smaps_coverage(*smaps_text);
  if (!coverage) return fail(pid, EINVAL, dir + "/smaps: " + coverage.error());
  m.coverage_checked = true;
  m.lockable_mappings = coverage->lockable_mappings;
  m.unlocked_mappings = coverage->unlocked_mappings;
  m.fully_locked = coverage->lockable_mappings > 0 && coverage->unlocked_mappings == 0;
  return m;
}

bool is_locked() noexcept { return locked_bytes() > 0; }

std::uint64_t locked_bytes() noexcept {
  try {
    const auto text = internal::read_whole_file("/proc/self/status");
    if (!text) return 0;
    const auto status = internal::parse_proc_status(*text);
    return status && status->vm_lck ? *status->vm_lck : 0;
  } catch (...) {  // std::bad_alloc: the figure is unknown, and 0 is the crate's answer
    return 0;
  }
}

}  // namespace duende::mlock
