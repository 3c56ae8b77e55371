// Privilege changes for forked test children: drop CAP_IPC_LOCK, set RLIMIT_MEMLOCK.
// Raw capget/capset: the project does not depend on libcap.
#pragma once

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

namespace duende::test {

// Removes `cap` from this process's effective, permitted, inheritable and bounding sets
// (and, for root, keeps it gone by dropping it from the bounding set). True on success.
inline bool drop_capability(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  const int word = cap / 32;
  const std::uint32_t bit = 1u << (cap % 32);
  data[word].effective &= ~bit;
  data[word].permitted &= ~bit;
  data[word].inheritable &= ~bit;
  prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);  // fails without CAP_SETPCAP: harmless then
  return syscall(SYS_capset, &header, data) == 0;
}

inline bool has_capability(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return data[cap / 32].effective & (1u << (cap % 32));
}

inline bool set_memlock_limit(rlim_t bytes) {
  const rlimit limit{bytes, bytes};
  return setrlimit(RLIMIT_MEMLOCK, &limit) == 0;
}

// Makes the calling (forked) process unable to lock: no CAP_IPC_LOCK, memlock limit
// `limit`. True on success.
inline bool make_unprivileged(rlim_t limit) {
  return drop_capability(CAP_IPC_LOCK) && set_memlock_limit(limit);
}

// Why this test process cannot run a locking test, or nullptr when it can: locking beyond
// the 8 MiB memlock limit needs root, and a sanitizer build cannot lock at all: ASan
// intercepts mlockall() as a no-op returning 0 (its shadow memory is terabytes of reserved
// address space), and the preload shim would need the ASan runtime loaded first.
inline const char* cannot_lock_reason() {
#ifdef DUENDE_SANITIZED
  return "sanitizer build: ASan intercepts mlockall() as a no-op";
#else
  return geteuid() == 0 ? nullptr : "needs root (CAP_IPC_LOCK to lock beyond the memlock limit)";
#endif
}

}  // namespace duende::test

// Skips the current test, saying why, when it cannot lock here.
#define DUENDE_REQUIRE_LOCKING() \
  if (const char* why_not = ::duende::test::cannot_lock_reason(); why_not) GTEST_SKIP() << why_not

// Skips the current test in a sanitizer build, where `what` cannot work.
#ifdef DUENDE_SANITIZED
#define DUENDE_SKIP_IF_SANITIZED(what) GTEST_SKIP() << "sanitizer build: " << what
#else
#define DUENDE_SKIP_IF_SANITIZED(what) static_cast<void>(0)
#endif
