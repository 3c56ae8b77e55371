// inspect() and inspect_detail(): memory figures of any process, from /proc.
#include <cerrno>
#include <string>
#include <utility>

#include "duende/mlock.hpp"
#include "inspect_failure.hpp"
#include "proc_files.hpp"
#include "proc_limits.hpp"
#include "proc_smaps.hpp"
#include "proc_status.hpp"

namespace duende::mlock {
namespace {

using internal::inspect_failure;
using internal::read_failure;

// /proc/PID/status of a process that has user memory: not a zombie, a kernel thread or
// one exiting.
Result<internal::ProcStatus, InspectError> status_from(pid_t pid, std::string_view text,
                                                       const std::string& dir) {
  auto status = internal::parse_proc_status(text);
  if (!status) return inspect_failure(pid, EINVAL, dir + "/status: " + status.error());
  if (status->state == 'Z' || status->state == 'X')
    return inspect_failure(pid, ESRCH, "process has exited (zombie): it has no memory");
  if (status->kernel_thread)
    return inspect_failure(pid, EINVAL, "a kernel thread has no user memory");
  // A process that is exiting has released its memory before it becomes a zombie.
  if (!status->vm_lck || !status->vm_rss)
    return inspect_failure(pid, ESRCH,
                           "process is exiting (or a kernel thread): no memory figures");
  return std::move(*status);
}

Result<internal::ProcStatus, InspectError> read_status(pid_t pid, const std::string& dir) {
  if (pid <= 0) return inspect_failure(pid, EINVAL, "not a process id");
  const auto text = internal::read_whole_file(dir + "/status");
  if (!text) return read_failure(pid, dir + "/status", text.error());
  return status_from(pid, *text, dir);
}

ProcessMemory memory_from(pid_t pid, const internal::ProcStatus& status) {
  ProcessMemory m;
  m.pid = pid;
  m.locked_bytes = *status.vm_lck;
  m.resident_bytes = *status.vm_rss;
  m.swapped_bytes = status.vm_swap.value_or(0);
  m.pinned_bytes = status.vm_pin.value_or(0);
  return m;
}

Result<internal::SmapsCoverage, InspectError> read_smaps(pid_t pid, const std::string& dir) {
  const auto text = internal::read_whole_file(dir + "/smaps");
  if (!text) return read_failure(pid, dir + "/smaps", text.error());
  // An empty smaps means the process lost its memory map between the two reads.
  if (text->empty()) return inspect_failure(pid, ESRCH, "process has exited: empty smaps");
  auto coverage = internal::parse_smaps_coverage(*text);
  if (!coverage) return inspect_failure(pid, EINVAL, dir + "/smaps: " + coverage.error());
  return std::move(*coverage);
}

}  // namespace

Result<ProcessMemory, InspectError> inspect(pid_t pid, bool check_coverage) {
  const std::string dir = "/proc/" + std::to_string(pid);
  const auto status = read_status(pid, dir);
  if (!status) return Unexpected(status.error());
  ProcessMemory m = memory_from(pid, *status);
  if (!check_coverage) return m;

  const auto coverage = read_smaps(pid, dir);
  if (!coverage) return Unexpected(coverage.error());
  m.coverage_checked = true;
  m.lockable_mappings = coverage->lockable_mappings;
  m.unlocked_mappings = coverage->unlocked_mappings;
  m.fully_locked = coverage->lockable_mappings > 0 && coverage->unlocked_mappings == 0;
  return m;
}

Result<ProcessMemory, InspectError> inspect_status_text(pid_t pid, std::string_view status_text) {
  if (pid <= 0) return inspect_failure(pid, EINVAL, "not a process id");
  const auto status = status_from(pid, status_text, "/proc/" + std::to_string(pid));
  if (!status) return Unexpected(status.error());
  return memory_from(pid, *status);
}

Result<MemoryDetail, InspectError> inspect_detail(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  // Read for its verdict only (zombie, kernel thread, exiting): smaps alone cannot tell.
  const auto status = read_status(pid, dir);
  if (!status) return Unexpected(status.error());
  auto coverage = read_smaps(pid, dir);
  if (!coverage) return Unexpected(coverage.error());
  const auto limits_text = internal::read_whole_file(dir + "/limits");
  if (!limits_text) return read_failure(pid, dir + "/limits", limits_text.error());
  const auto limit = internal::parse_memlock_limit(*limits_text);
  if (!limit) return inspect_failure(pid, EINVAL, dir + "/limits: " + limit.error());

  MemoryDetail d;
  d.pid = pid;
  d.lockable_mappings = coverage->lockable_mappings;
  d.unlocked_mappings = coverage->unlocked_mappings;
  d.locked_bytes = coverage->locked_bytes;
  d.resident_unlocked_bytes = coverage->resident_unlocked_bytes;
  d.swapped_bytes = coverage->swapped_bytes;
  d.swapped_shmem_bytes = coverage->swapped_shmem_bytes;
  d.first_unlocked_mapping = std::move(coverage->first_unlocked);
  d.memlock_limit_bytes = limit->soft;
  return d;
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
