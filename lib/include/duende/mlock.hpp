// <duende/mlock.hpp>: memory locking for swap-critical daemons.
//
// A C++20 port of the Rust crate duende-mlock. A daemon that serves as a swap device (a
// ublk or NBD server, a userspace block driver) deadlocks if the kernel swaps out its own
// pages: to swap them back in it needs itself. Pinning the process with mlockall() cures
// that. Locks are per process: the kernel does not pass them on across fork() and drops
// them in execve(), so every such process locks itself, by linking this library or by
// being started with libduende-mlock-preload.so in LD_PRELOAD. For fork() the library
// does it for you: see MlockConfig::relock_after_fork().
//
// Thread safety: every function here may be called from any thread. Locking is a property
// of the whole process, so concurrent lock/unlock calls race in the kernel's sense only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "duende/result.hpp"

namespace duende::mlock {

class MlockConfigBuilder;

// What lock_with_config() should do. Immutable; build one with MlockConfig::builder().
// Defaults are the crate's: current, future and required on; onfault off. The additions
// beyond the crate (io_flusher, retain_heap) default to off, except relock_after_fork,
// which is on (see there why).
class MlockConfig {
 public:
  // The default configuration (same as builder().build()).
  MlockConfig() = default;
  static MlockConfigBuilder builder();

  // Lock the pages mapped now (MCL_CURRENT).
  bool current() const noexcept { return current_; }
  // Lock pages mapped in the future (MCL_FUTURE).
  bool future() const noexcept { return future_; }
  // A failure to lock is an error (true) or a successful result holding a failed status.
  bool required() const noexcept { return required_; }
  // Lock pages only when first touched (MCL_ONFAULT, Linux 4.4). On a kernel that answers
  // EINVAL to it, lock_with_config() retries without it and says so in the status.
  bool onfault() const noexcept { return onfault_; }
  // Mark the process as an I/O flusher (prctl PR_SET_IO_FLUSHER, Linux 5.6): the kernel
  // then avoids recursing into filesystem/block I/O from its allocations, which is what a
  // block device server needs. Requires CAP_SYS_RESOURCE. Inherited by children.
  bool io_flusher() const noexcept { return io_flusher_; }
  // Tune malloc so freed heap is kept rather than returned to the kernel and re-faulted
  // under pressure: M_TRIM_THRESHOLD and M_MMAP_MAX as real-time programs do.
  bool retain_heap() const noexcept { return retain_heap_; }
  // After a successful lock with future(), make every child this process fork()s lock
  // itself again: the kernel gives a forked child no locks (VmLck 0, MCL_FUTURE off), so a
  // forked worker of a locked daemon could be swapped out, the deadlock this library exists
  // to prevent. Done by a pthread_atfork() child handler, registered once by the first such
  // lock, that calls mlockall(MCL_FUTURE | MCL_ONFAULT, plus MCL_CURRENT when current())
  // in the child before fork() returns there (retried without MCL_ONFAULT on EINVAL). The
  // child's failure to lock is not reported (it cannot be, from there): it goes on, as it
  // would have without this option.
  // MCL_ONFAULT, whatever onfault() says: the child locks the pages it shares with its
  // parent where they are (still locked by the parent) without copying them; a full
  // MCL_CURRENT re-lock would break copy-on-write for every private page, a copy of the
  // whole heap: measured (tests/bench/bench_relock.cpp, figures at kRelockFlags in
  // lock.cpp) a fork()+_exit of a locked 256 MiB parent takes 17 ms without re-lock,
  // 24 ms with MCL_ONFAULT and 179 ms with a full re-lock. Pages the child touches later
  // are locked as they are faulted in.
  // Only fork() (and glibc calls that run atfork handlers) re-locks: not vfork(),
  // posix_spawn(), clone() or _Fork(), which are followed by execve() anyway. Each later
  // lock_with_config() that locks decides anew (with this off, or without future(), the
  // re-locking stops), and so does unlock_all(): process-wide, the last one counts. Default on,
  // unlike the crate: a process that asked for its future memory to be locked asked for its forked
  // workers' too, and with MCL_ONFAULT the cost is bounded (1.2x to 1.9x a plain fork() of a locked
  // parent, no copying). Turn it off for a large parent that forks often only to execve() at once
  // (or use posix_spawn()). Environment: DUENDE_MLOCK_RELOCK_AFTER_FORK.
  bool relock_after_fork() const noexcept { return relock_after_fork_; }

  // True when a lock is requested (current or future) and its failure is fatal (required):
  // a process run under this config must not go on unlocked. False for a config that asks
  // for no lock at all, even when required (lock_with_config() then succeeds trivially).
  bool must_be_locked() const noexcept { return (current_ || future_) && required_; }

  bool operator==(const MlockConfig&) const = default;

 private:
  friend class MlockConfigBuilder;
  bool current_ = true;
  bool future_ = true;
  bool required_ = true;
  bool onfault_ = false;
  bool io_flusher_ = false;
  bool retain_heap_ = false;
  bool relock_after_fork_ = true;
};

// Builder for MlockConfig; each setter returns the builder for chaining.
class MlockConfigBuilder {
 public:
  MlockConfigBuilder& current(bool on) noexcept { return config_.current_ = on, *this; }
  MlockConfigBuilder& future(bool on) noexcept { return config_.future_ = on, *this; }
  MlockConfigBuilder& required(bool on) noexcept { return config_.required_ = on, *this; }
  MlockConfigBuilder& onfault(bool on) noexcept { return config_.onfault_ = on, *this; }
  MlockConfigBuilder& io_flusher(bool on) noexcept { return config_.io_flusher_ = on, *this; }
  MlockConfigBuilder& retain_heap(bool on) noexcept { return config_.retain_heap_ = on, *this; }
  MlockConfigBuilder& relock_after_fork(bool on) noexcept {
    return config_.relock_after_fork_ = on, *this;
  }
  MlockConfig build() const noexcept { return config_; }

 private:
  MlockConfig config_;
};

inline MlockConfigBuilder MlockConfig::builder() { return {}; }

// The outcome of a locking attempt: locked (with the bytes locked), failed (with the
// errno; only returned when the config did not require locking), or unsupported (not
// Linux).
class DUENDE_MLOCK_API MlockStatus {
 public:
  enum class Kind { Locked, Failed, Unsupported };

  static MlockStatus locked(std::uint64_t bytes, bool onfault_dropped = false) noexcept {
    return MlockStatus(Kind::Locked, bytes, 0, onfault_dropped);
  }
  static MlockStatus failed(int error_number) noexcept {
    return MlockStatus(Kind::Failed, 0, error_number, false);
  }
  static MlockStatus unsupported() noexcept { return MlockStatus(Kind::Unsupported, 0, 0, false); }

  Kind kind() const noexcept { return kind_; }
  bool is_locked() const noexcept { return kind_ == Kind::Locked; }
  bool is_failed() const noexcept { return kind_ == Kind::Failed; }
  bool is_unsupported() const noexcept { return kind_ == Kind::Unsupported; }
  // VmLck right after locking, in bytes; 0 unless locked.
  std::uint64_t bytes_locked() const noexcept { return bytes_; }
  // The errno of the failed call; 0 unless failed.
  int failure_errno() const noexcept { return errno_; }
  // True when MCL_ONFAULT was asked for, the kernel refused it (EINVAL), and the lock was
  // taken without it (every page populated now).
  bool onfault_dropped() const noexcept { return onfault_dropped_; }

  // As the crate formats it: "locked (4 KB)", "failed (errno=12)", "unsupported platform";
  // a dropped MCL_ONFAULT adds ", without MCL_ONFAULT" inside the parentheses.
  std::string to_string() const;

  bool operator==(const MlockStatus&) const = default;

 private:
  MlockStatus(Kind kind, std::uint64_t bytes, int error_number, bool onfault_dropped) noexcept
      : kind_(kind), bytes_(bytes), errno_(error_number), onfault_dropped_(onfault_dropped) {}
  Kind kind_;
  std::uint64_t bytes_;
  int errno_;
  bool onfault_dropped_;
};

// Why locking failed, with the errno the kernel gave.
class DUENDE_MLOCK_API MlockError {
 public:
  enum class Kind {
    PermissionDenied,  // EPERM: no CAP_IPC_LOCK and RLIMIT_MEMLOCK is 0
    ResourceLimit,     // ENOMEM: more than RLIMIT_MEMLOCK, or out of memory
    InvalidArgument,   // EINVAL: flags the kernel does not know
    WouldBlock,        // EAGAIN: some pages could not be locked
    Unknown,           // any other errno
  };
  // The step that failed: mlockall() itself or prctl(PR_SET_IO_FLUSHER).
  enum class Operation { Mlockall, IoFlusher };

  // Classifies `error_number` (an errno value).
  static MlockError from_errno(int error_number,
                               Operation operation = Operation::Mlockall) noexcept;

  Kind kind() const noexcept { return kind_; }
  Operation operation() const noexcept { return operation_; }
  // The errno value (named so because errno is a macro).
  int error_number() const noexcept { return errno_; }
  bool is_permission_error() const noexcept { return kind_ == Kind::PermissionDenied; }
  bool is_resource_limit() const noexcept { return kind_ == Kind::ResourceLimit; }

  // One line: what failed, the kernel's words, and the fix in this ecosystem's terms,
  // e.g. "mlockall failed: Operation not permitted (EPERM): grant CAP_IPC_LOCK
  // (systemd: AmbientCapabilities=CAP_IPC_LOCK; docker: --cap-add=IPC_LOCK) or raise the
  // memlock limit (LimitMEMLOCK=infinity; docker: --ulimit memlock=-1:-1)".
  std::string message() const;

  bool operator==(const MlockError&) const = default;

 private:
  MlockError(Kind kind, int error_number, Operation operation) noexcept
      : kind_(kind), errno_(error_number), operation_(operation) {}
  Kind kind_;
  int errno_;
  Operation operation_;
};

// Locks all current and future memory with the default config (required): same as
// lock_with_config(MlockConfig()).
DUENDE_MLOCK_API Result<MlockStatus, MlockError> lock_all();

// Applies `config` to the calling process:
//  - neither current nor future: returns locked (0 bytes) without any syscall;
//  - retain_heap: tunes malloc (cannot fail in a way worth reporting);
//  - io_flusher: prctl(PR_SET_IO_FLUSHER); a failure is an error (Operation::IoFlusher)
//    when required, else ignored (best effort) and locking goes on;
//  - mlockall() with MCL_CURRENT/MCL_FUTURE/MCL_ONFAULT as asked; EINVAL with onfault is
//    retried without MCL_ONFAULT (status.onfault_dropped());
//  - once locked, forked children re-lock when future() and relock_after_fork() (the
//    pthread_atfork() handler is registered at the first such call), else they stop to.
// On success returns locked(VmLck bytes). On failure returns the error when required(),
// otherwise a successful result holding failed(errno).
// When the environment has DUENDE_MLOCK_REPORT=1 and NOTIFY_SOCKET, the outcome is also
// sent there as one sd_notify-format datagram (see send_lock_report()).
DUENDE_MLOCK_API Result<MlockStatus, MlockError> lock_with_config(const MlockConfig& config);

// munlockall(): unlocks every locked page and ends MCL_FUTURE; children forked afterwards
// no longer re-lock (relock_after_fork()). Fails only on a kernel error (errno as
// MlockError).
DUENDE_MLOCK_API Result<void, MlockError> unlock_all();

// True when VmLck of this process is above zero. False also when /proc is unreadable.
DUENDE_MLOCK_API bool is_locked() noexcept;

// VmLck of this process in bytes: the virtual size of locked mappings, which includes
// PROT_NONE reservations and untouched MCL_ONFAULT ranges. 0 when /proc is unreadable.
DUENDE_MLOCK_API std::uint64_t locked_bytes() noexcept;

// The lock report datagram for `status`, in sd_notify format (newline-separated
// KEY=VALUE): X_DUENDE_MLOCK=locked|failed|unsupported, X_DUENDE_MLOCK_BYTES=N,
// X_DUENDE_MLOCK_ERRNO=E, each line ending in '\n'. onfault_dropped() is not sent.
// parse_lock_report() reads it back.
DUENDE_MLOCK_API std::string format_lock_report(const MlockStatus& status);

// Sends `state` (sd_notify format: newline-separated KEY=VALUE) as one datagram to
// $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace). When the receiver's
// queue is full it waits up to `timeout_ms` for room (0: never waits). Returns 0 when sent
// or when NOTIFY_SOCKET is unset; otherwise a positive errno: EINVAL for a relative or
// too long path, EAGAIN when the queue stayed full, or the errno of socket()/sendto().
// Never throws.
DUENDE_MLOCK_API int notify_send(std::string_view state, int timeout_ms = 0) noexcept;

// How long send_lock_report() waits for room at a busy supervisor: a child starting up
// may wait a little, a frozen supervisor must not hold it forever.
inline constexpr int kLockReportTimeoutMs = 5000;

// Sends format_lock_report(status) with notify_send(…, kLockReportTimeoutMs) when
// DUENDE_MLOCK_REPORT=1 (kEnvReport) is set. Returns 0 when sent or not asked to
// (variables unset), else notify_send()'s errno. Never throws; does not change NOTIFY_SOCKET.
DUENDE_MLOCK_API int send_lock_report(const MlockStatus& status) noexcept;

// ---- The lock protocol between a supervisor and its children ----
//
// A supervisor starts each child with lock_environment() in its environment (plus
// NOTIFY_SOCKET and LD_PRELOAD=libduende-mlock-preload.so for a program that does not
// link this library). The child reads its config with config_from_environment(), locks
// with lock_with_config(), and sends the outcome as a lock report (send_lock_report());
// the supervisor reads it back with parse_lock_report(). Both sides use the names below.

// "1": the child sends a lock report to $NOTIFY_SOCKET after locking.
inline constexpr const char* kEnvReport = "DUENDE_MLOCK_REPORT";
// The MlockConfig flags, one variable each, "1" or "0".
inline constexpr const char* kEnvCurrent = "DUENDE_MLOCK_CURRENT";
inline constexpr const char* kEnvFuture = "DUENDE_MLOCK_FUTURE";
inline constexpr const char* kEnvOnfault = "DUENDE_MLOCK_ONFAULT";
inline constexpr const char* kEnvRequired = "DUENDE_MLOCK_REQUIRED";
inline constexpr const char* kEnvIoFlusher = "DUENDE_MLOCK_IO_FLUSHER";
inline constexpr const char* kEnvRetainHeap = "DUENDE_MLOCK_RETAIN_HEAP";
inline constexpr const char* kEnvRelockAfterFork = "DUENDE_MLOCK_RELOCK_AFTER_FORK";

// The environment a supervisor gives a child so that it locks as `config` says: in this
// fixed order, kEnvReport="1" (only when `report`), then kEnvCurrent, kEnvFuture,
// kEnvOnfault, kEnvRequired, kEnvIoFlusher, kEnvRetainHeap and kEnvRelockAfterFork, each
// "1" or "0". Every flag
// is spelled out, so the child's result does not depend on the library's defaults:
// config_from_environment() over these pairs gives back `config`. Does not include
// NOTIFY_SOCKET or LD_PRELOAD. Pure; throws only std::bad_alloc.
DUENDE_MLOCK_API std::vector<std::pair<std::string, std::string>> lock_environment(
    const MlockConfig& config, bool report = true);

// Looks up one environment variable by name; nullptr when unset (std::getenv fits).
using EnvLookup = std::function<const char*(const char*)>;

// Reads the MlockConfig flags (kEnvCurrent, kEnvFuture, kEnvOnfault, kEnvRequired,
// kEnvIoFlusher, kEnvRetainHeap, kEnvRelockAfterFork) through `lookup`. Each is "1" or "0"; unset
// or empty keeps MlockConfig's default. Anything else is an error naming the first such variable
// and its value, e.g. `DUENDE_MLOCK_REQUIRED="yes" is invalid: use 1 or 0`, never a silent default.
// kEnvReport is not read here (send_lock_report() reads it). No side effects.
DUENDE_MLOCK_API Result<MlockConfig, std::string> config_from_environment(const EnvLookup& lookup);

// config_from_environment() over the process environment (std::getenv). Not safe against
// a concurrent setenv()/unsetenv() in another thread, as std::getenv is not.
DUENDE_MLOCK_API Result<MlockConfig, std::string> config_from_environment();

// The inverse of format_lock_report(): the lock report in one sd_notify datagram
// (newline-separated KEY=VALUE lines), as a supervisor receives it. Acts only on
// X_DUENDE_MLOCK, X_DUENDE_MLOCK_BYTES and X_DUENDE_MLOCK_ERRNO; every other key, empty
// lines and lines without '=' are ignored (the caller validates the datagram as a whole).
// When a key repeats, its last line counts.
// Success: nullopt when the datagram has no X_DUENDE_MLOCK line (not a lock report);
// otherwise X_DUENDE_MLOCK=locked gives MlockStatus::locked(BYTES), failed gives
// MlockStatus::failed(ERRNO), unsupported gives MlockStatus::unsupported(); a missing
// BYTES or ERRNO counts as 0, and the one the state does not use is checked but dropped.
// onfault_dropped() is not carried in the report, so it is always false here: for a
// locked status with onfault_dropped(), the round trip gives locked(bytes) only.
// Errors (the whole report is then invalid), whether or not X_DUENDE_MLOCK is present:
//  - `X_DUENDE_MLOCK: unknown value "<the value's first 32 bytes>"` for a state other than
//    locked|failed|unsupported;
//  - `X_DUENDE_MLOCK_BYTES: not a number` unless decimal digits only that fit in uint64;
//  - `X_DUENDE_MLOCK_ERRNO: not an errno` unless a non-negative decimal that fits in int.
// Pure; throws only std::bad_alloc.
DUENDE_MLOCK_API Result<std::optional<MlockStatus>, std::string> parse_lock_report(
    std::string_view datagram);

// Memory of one process, read from /proc/PID/status and /proc/PID/smaps.
struct ProcessMemory {
  pid_t pid = 0;
  std::uint64_t locked_bytes = 0;    // VmLck
  std::uint64_t resident_bytes = 0;  // VmRSS
  std::uint64_t swapped_bytes = 0;   // VmSwap
  std::uint64_t pinned_bytes = 0;    // VmPin
  // Only set when coverage was asked for: every lockable mapping carries the `lo` flag
  // (special mappings such as [vvar], [vdso], [vsyscall], VM_IO, VM_PFNMAP, VM_MIXEDMAP,
  // VM_DONTEXPAND and hugetlb ones cannot be locked and are not counted).
  bool coverage_checked = false;
  bool fully_locked = false;
  std::uint64_t lockable_mappings = 0;
  std::uint64_t unlocked_mappings = 0;
  bool operator==(const ProcessMemory&) const = default;
};

// Why inspect(), inspect_detail() or inspect_io_flusher() could not read a process.
struct InspectError {
  int error_number = 0;  // ESRCH: no such process (or a zombie: it has no memory left);
                         // EACCES/EPERM: not allowed to read it; EINVAL: kernel thread or
                         // malformed /proc text; other errno from reading /proc.
  std::string message;   // "pid 42: no such process", "pid 1: /proc/1/smaps: ..."
  bool operator==(const InspectError&) const = default;
};

// Reads the memory figures of process `pid` from /proc (VmLck, VmRSS, VmSwap, VmPin), and
// with `check_coverage` also walks /proc/PID/smaps to tell whether every lockable mapping
// is locked (costlier: proportional to the number of mappings). A vanished, zombie or
// unreadable process is an error, never zeros.
DUENDE_MLOCK_API Result<ProcessMemory, InspectError> inspect(pid_t pid,
                                                             bool check_coverage = false);

// inspect(pid, false) from /proc/PID/status text the caller read itself (since 1.3): a
// monitor of many processes can keep each file open and pread() it at offset 0, saving
// an open() and a close() per process per round. The verdicts are inspect()'s: a zombie
// or an exiting process is ESRCH; a kernel thread or text the parser refuses is EINVAL.
DUENDE_MLOCK_API Result<ProcessMemory, InspectError> inspect_status_text(
    pid_t pid, std::string_view status_text);

// ---- Memory in detail (since 1.2) ----
//
// ProcessMemory keeps its layout (it crosses the shared library's ABI by value), so the
// figures only a walk of /proc/PID/smaps gives have a type of their own. What counts what:
//  - VmLck (ProcessMemory::locked_bytes): the virtual size of the locked mappings, touched
//    or not (PROT_NONE reservations and untouched MCL_ONFAULT ranges included).
//    MemoryDetail::locked_bytes: the locked pages actually resident, in proportion.
//  - VmSwap (ProcessMemory::swapped_bytes): swapped-out anonymous pages only.
//    MemoryDetail::swapped_bytes: those plus swapped-out shared memory (tmpfs, /dev/shm,
//    memfd, SysV shm, MAP_SHARED|MAP_ANONYMOUS), which VmSwap leaves out:
//    swapped_shmem_bytes is that part. A swap backend whose shared buffers were swapped
//    out shows VmSwap 0 and is still in danger; these figures say so.

// What inspect_detail() read: the counts of ProcessMemory's coverage check and the
// figures of the same walk, plus the memlock limit. Returned by value across the ABI: the
// layout stays as it is for all of 1.x (new figures would come in a new type).
struct MemoryDetail {
  pid_t pid = 0;
  // As ProcessMemory's: the mappings mlockall() can lock (special mappings such as [vvar],
  // [vdso], [vsyscall], VM_IO, VM_PFNMAP, VM_MIXEDMAP, VM_DONTEXPAND and hugetlb ones are not
  // counted), and those of them without the `lo` VmFlag.
  std::uint64_t lockable_mappings = 0;
  std::uint64_t unlocked_mappings = 0;
  // Sum of the mappings' "Locked:" lines, in bytes: resident pages of locked mappings,
  // each page shared with N processes counted 1/N (it is a proportional set size). Below
  // VmLck for a locked process: untouched and shared pages are counted less or not at all.
  std::uint64_t locked_bytes = 0;
  // Sum of "Rss:" over the unlocked lockable mappings, in bytes: memory resident now that
  // the kernel may swap out (a lost or partial lock). 0 for a fully locked process.
  std::uint64_t resident_unlocked_bytes = 0;
  // Sum of "Swap:" over every mapping, in bytes: anonymous pages (as VmSwap) and shared
  // memory pages (which VmSwap does not count) in swap now.
  std::uint64_t swapped_bytes = 0;
  // The part of swapped_bytes in shared memory mappings: shared ones (perms "rw-s":
  // tmpfs and /dev/shm files, "/dev/zero (deleted)" for MAP_SHARED|MAP_ANONYMOUS, SysV
  // segments) and "/SYSV…" or "/memfd:…" ones also when private. Not recognised: a
  // tmpfs file mapped private (its name is a plain path).
  std::uint64_t swapped_shmem_bytes = 0;
  // The first unlocked lockable mapping, for a log line: "start-end perms name" as in
  // smaps, e.g. "7f12a000-7f12c000 rw-p /usr/lib/x.so", "55d0a000-55d2b000 rw-p [heap]",
  // "7f12c000-7f12d000 rw-p" when it has no name. Every byte outside printable ASCII is
  // written "\xNN"; at most 256 bytes (cut with "..."). "" when none is unlocked.
  std::string first_unlocked_mapping;
  // The soft RLIMIT_MEMLOCK ("Max locked memory" in /proc/PID/limits), in bytes: how much
  // the process may lock without CAP_IPC_LOCK. nullopt when unlimited.
  std::optional<std::uint64_t> memlock_limit_bytes;

  // As ProcessMemory::fully_locked: some lockable mapping, and every one locked.
  bool fully_locked() const noexcept { return lockable_mappings > 0 && unlocked_mappings == 0; }
  bool operator==(const MemoryDetail&) const = default;
};

// Reads /proc/PID/status (to tell a live process from a zombie or a kernel thread), walks
// /proc/PID/smaps once (costs as much as inspect(pid, true)), and reads /proc/PID/limits.
// The counts are the ones inspect(pid, true) gives for the same moment. Errors, never
// zeros:
//  - ESRCH: no such process, a zombie, or one exiting (no memory map left);
//  - EACCES/EPERM: not allowed to read its smaps (another user's process without
//    CAP_SYS_PTRACE) or its limits;
//  - EINVAL: pid <= 0, a kernel thread, or /proc text the parsers refuse (named in the
//    message);
//  - any other errno from reading /proc.
DUENDE_MLOCK_API Result<MemoryDetail, InspectError> inspect_detail(pid_t pid);

// ---- I/O flusher flags, per thread (since 1.2) ----
//
// prctl(PR_SET_IO_FLUSHER, 1) (MlockConfig::io_flusher()) sets two flags on the calling
// THREAD only: threads started before it lack them, threads and children it starts later
// inherit them. /proc/PID/task/TID/stat shows them in field 9, "flags" (proc(5)).

// PF_MEMALLOC_NOIO: the thread's allocations never start I/O to reclaim memory.
inline constexpr std::uint32_t kPfMemallocNoio = 0x00080000;
// PF_LOCAL_THROTTLE: dirty-page throttling holds the thread back only for the device it
// writes to, not for all dirty memory (it may be what cleans the rest).
inline constexpr std::uint32_t kPfLocalThrottle = 0x00100000;
// Both: what PR_SET_IO_FLUSHER sets (and PR_GET_IO_FLUSHER reports as 1).
inline constexpr std::uint32_t kIoFlusherFlags = kPfMemallocNoio | kPfLocalThrottle;

// The flags (field 9, the kernel's task->flags) of one /proc/PID/task/TID/stat or
// /proc/PID/stat line, "TID (COMM) STATE PPID PGRP SESSION TTY TPGID FLAGS ...". COMM may
// hold spaces and ')': the fields are counted after the line's last ')'. A trailing
// newline is fine; fields after the ninth are not checked.
// Errors, as text naming what is wrong: no "TID (" at the start or no ')' after it; too
// few fields (flags missing); a state (field 3) of more than one letter; a TID or flags
// that is not a decimal number; flags beyond 32 bits (out of range). Pure; throws only
// std::bad_alloc.
DUENDE_MLOCK_API Result<std::uint32_t, std::string> parse_task_stat_flags(
    std::string_view stat_line);

// Which threads of a process carry both kIoFlusherFlags, from inspect_io_flusher(). As
// MemoryDetail, its layout stays as it is for all of 1.x.
struct IoFlusherThreads {
  pid_t pid = 0;
  // Live threads read (an exited thread not yet reaped is not counted).
  std::uint64_t threads = 0;
  // How many of them carry both flags; == threads when the whole process is a flusher.
  std::uint64_t io_flusher_threads = 0;
  // The first thread (in /proc/PID/task's order, the main thread first) without both
  // flags, and its name (comm) with every byte outside printable ASCII written "\xNN":
  // for a log line. 0 and "" when every thread carries them.
  pid_t first_other_tid = 0;
  std::string first_other_comm;

  bool all_io_flushers() const noexcept { return threads > 0 && io_flusher_threads == threads; }
  bool operator==(const IoFlusherThreads&) const = default;
};

// Reads /proc/PID/task/*/stat: one read per thread, so it costs in proportion to the
// number of threads. A thread that exits between the listing and the read of its stat
// is left out, not an error. Errors:
//  - ESRCH: no such process, or no live thread left (a zombie);
//  - EACCES/EPERM: not allowed to read its task directory or a thread's stat;
//  - EINVAL: pid <= 0, a kernel thread, or a stat line parse_task_stat_flags() refuses
//    (the message names the file and the reason);
//  - any other errno from reading /proc.
DUENDE_MLOCK_API Result<IoFlusherThreads, InspectError> inspect_io_flusher(pid_t pid);

}  // namespace duende::mlock
