// lock_all(), lock_with_config(), unlock_all(): the syscalls.
#include <malloc.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include <cerrno>
#include <climits>

#include "duende/mlock.hpp"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

namespace duende::mlock {
namespace {

// Keep freed heap in the process: no trimming of the heap top, and no separate mmap()ed
// chunks (which free() returns to the kernel at once). Real-time programs do the same.
void retain_heap() {
  ::mallopt(M_TRIM_THRESHOLD, INT_MAX);
  ::mallopt(M_MMAP_MAX, 0);
}

// Runs mlockall(); with MCL_ONFAULT refused as EINVAL (kernels before 4.4), once more
// without it. Returns 0 or the errno.
int call_mlockall(int flags, bool& onfault_dropped) {
  if (::mlockall(flags) == 0) return 0;
  int e = errno;
  if (e == EINVAL && (flags & MCL_ONFAULT)) {
    onfault_dropped = true;
    if (::mlockall(flags & ~MCL_ONFAULT) == 0) return 0;
    e = errno;
  }
  return e;
}

Result<MlockStatus, MlockError> failure(const MlockConfig& config, int e,
                                        MlockError::Operation op) {
  const MlockStatus status = MlockStatus::failed(e);
  send_lock_report(status);
  if (config.required()) return Unexpected(MlockError::from_errno(e, op));
  return status;
}

}  // namespace

Result<MlockStatus, MlockError> lock_all() { return lock_with_config(MlockConfig()); }

Result<MlockStatus, MlockError> lock_with_config(const MlockConfig& config) {
#ifndef __linux__
  const MlockStatus status = MlockStatus::unsupported();
  send_lock_report(status);
  return status;
#else
  if (config.retain_heap()) retain_heap();
  // Not required, a refused PR_SET_IO_FLUSHER is best effort: locking matters more.
  if (config.io_flusher() && ::prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) != 0 && config.required())
    return failure(config, errno, MlockError::Operation::IoFlusher);
  if (!config.current() && !config.future()) return MlockStatus::locked(0);

  int flags = (config.current() ? MCL_CURRENT : 0) | (config.future() ? MCL_FUTURE : 0);
  if (config.onfault()) flags |= MCL_ONFAULT;
  bool onfault_dropped = false;
  if (const int e = call_mlockall(flags, onfault_dropped); e != 0)
    return failure(config, e, MlockError::Operation::Mlockall);
  const MlockStatus status = MlockStatus::locked(locked_bytes(), onfault_dropped);
  send_lock_report(status);
  return status;
#endif
}

Result<void, MlockError> unlock_all() {
  if (::munlockall() != 0) return Unexpected(MlockError::from_errno(errno));
  return {};
}

}  // namespace duende::mlock
