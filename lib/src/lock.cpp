// lock_all(), lock_with_config(), unlock_all(): the syscalls.
#include <malloc.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <mutex>

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

// ---- Re-locking after fork() (MlockConfig::relock_after_fork()) ----

// The flags a forked child re-locks with, beyond MCL_FUTURE (and MCL_CURRENT when the
// parent locked current pages). MCL_ONFAULT, chosen by tests/bench/bench_relock.cpp:
// medians of 5 runs, parent locked with a touched heap, 2-CPU VM, RelWithDebInfo:
//                          no re-lock    full re-lock     MCL_ONFAULT re-lock
//   fork()+_exit   64 MiB    2.0 ms      51.9 ms (26x)    3.8 ms (1.9x)
//                 256 MiB   16.6 ms     179.0 ms (11x)   23.8 ms (1.4x)
//   fork()+exec    64 MiB    3.8 ms      49.5 ms (13x)    4.5 ms (1.2x)
//                 256 MiB   14.1 ms     194.2 ms (14x)   20.2 ms (1.4x)
// A full MCL_CURRENT re-lock breaks copy-on-write for every private writable page
// (mlock populates them with write faults: a copy of the whole heap); MCL_ONFAULT locks
// the pages present in the child where they are (shared with, and locked by, the parent)
// and the rest as they are faulted in; what it costs is the walk over the present pages.
constexpr int kRelockFlags = MCL_FUTURE | MCL_ONFAULT;

// What the child handler re-locks with; 0: nothing. A lock-free atomic, so reading it in
// the child (after fork(), where only async-signal-safe calls are allowed) takes no lock.
std::atomic<int> g_relock_flags{0};
static_assert(std::atomic<int>::is_always_lock_free);

// The pthread_atfork() child handler: runs in the child, before fork() returns there. Two
// plain syscalls at most; no allocation, no lock. errno is the caller's again afterwards.
void relock_in_child() {
  const int flags = g_relock_flags.load(std::memory_order_relaxed);
  if (flags == 0) return;
  const int saved_errno = errno;
  if (::mlockall(flags) != 0 && errno == EINVAL && (flags & MCL_ONFAULT))
    ::mlockall(flags & ~MCL_ONFAULT);
  errno = saved_errno;
}

// Sets what children forked from now on re-lock with (0: nothing); registers the handler
// at the first non-zero call. Registration fails only with ENOMEM, and is retried then.
void set_relock_flags(int flags) {
  if (flags != 0) {
    static std::mutex mutex;
    static bool registered = false;
    const std::lock_guard lock(mutex);
    if (!registered) registered = ::pthread_atfork(nullptr, nullptr, relock_in_child) == 0;
  }
  g_relock_flags.store(flags, std::memory_order_relaxed);
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
  set_relock_flags(config.future() && config.relock_after_fork()
                       ? kRelockFlags | (config.current() ? MCL_CURRENT : 0)
                       : 0);
  const MlockStatus status = MlockStatus::locked(locked_bytes(), onfault_dropped);
  send_lock_report(status);
  return status;
#endif
}

Result<void, MlockError> unlock_all() {
  if (::munlockall() != 0) return Unexpected(MlockError::from_errno(errno));
  set_relock_flags(0);
  return {};
}

}  // namespace duende::mlock
