/* <duende/mlock.h>: the C ABI of libduende-mlock.
 *
 * The same operations as <duende/mlock.hpp>, with plain structs and errno-style returns,
 * for daemons written in C. Functions returning int return 0 on success or a positive
 * errno value on failure; none of them sets errno as its way of reporting. Every function
 * may be called from any thread.
 *
 *   duende_mlock_config config;
 *   duende_mlock_config_init(&config);      // current, future, required on
 *   duende_mlock_status status;
 *   int err = duende_mlock_lock_with_config(&config, &status);
 *   if (err) fprintf(stderr, "%s\n", duende_mlock_error_message(err));
 */
#ifndef DUENDE_MLOCK_H
#define DUENDE_MLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef DUENDE_MLOCK_C_API
#define DUENDE_MLOCK_C_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* What to lock; see MlockConfig in <duende/mlock.hpp> for each flag's meaning. Its size
 * is part of the ABI (callers allocate it), so relock_after_fork, added later, is not a
 * field: duende_mlock_lock_with_config() takes its default (on), and
 * duende_mlock_lock_with_config_relock() chooses it. */
typedef struct duende_mlock_config {
  bool current;     /* MCL_CURRENT (default true) */
  bool future;      /* MCL_FUTURE (default true) */
  bool required;    /* failure is an error (default true) */
  bool onfault;     /* MCL_ONFAULT, retried without on EINVAL (default false) */
  bool io_flusher;  /* prctl(PR_SET_IO_FLUSHER) (default false) */
  bool retain_heap; /* keep freed heap instead of returning it (default false) */
} duende_mlock_config;

typedef enum duende_mlock_state {
  DUENDE_MLOCK_LOCKED = 0,
  DUENDE_MLOCK_FAILED = 1,
  DUENDE_MLOCK_UNSUPPORTED = 2
} duende_mlock_state;

/* The outcome of a locking attempt. */
typedef struct duende_mlock_status {
  duende_mlock_state state;
  uint64_t bytes_locked; /* VmLck after locking; 0 unless locked */
  int failure_errno;     /* 0 unless failed */
  bool onfault_dropped;  /* MCL_ONFAULT refused by the kernel and dropped */
} duende_mlock_status;

/* Memory of one process, from /proc/PID/status and (with coverage) /proc/PID/smaps. */
typedef struct duende_mlock_process_memory {
  pid_t pid;
  uint64_t locked_bytes;   /* VmLck */
  uint64_t resident_bytes; /* VmRSS */
  uint64_t swapped_bytes;  /* VmSwap */
  uint64_t pinned_bytes;   /* VmPin */
  bool coverage_checked;
  bool fully_locked; /* every lockable mapping locked (only if coverage_checked) */
  uint64_t lockable_mappings;
  uint64_t unlocked_mappings;
} duende_mlock_process_memory;

/* Fills *config with the defaults. */
DUENDE_MLOCK_C_API void duende_mlock_config_init(duende_mlock_config* config);

/* Locks with *config; on 0, *status holds the outcome (which is "failed" when locking was
 * not required and did not succeed). Returns the errno of the failed step when locking
 * was required, with *status set to failed; EINVAL when an argument is NULL. Sends the
 * lock report when DUENDE_MLOCK_REPORT=1 and NOTIFY_SOCKET are set. */
DUENDE_MLOCK_C_API int duende_mlock_lock_with_config(const duende_mlock_config* config,
                                                     duende_mlock_status* status);

/* duende_mlock_lock_with_config() with MlockConfig::relock_after_fork() chosen: when
 * relock_after_fork and config->future and the lock succeeds, every child this process
 * fork()s afterwards locks itself again (mlockall(MCL_FUTURE | MCL_ONFAULT, plus
 * MCL_CURRENT when config->current) from a pthread_atfork() child handler), as the
 * kernel gives a forked child no locks. Not for vfork(), posix_spawn() or clone().
 * duende_mlock_lock_with_config() is this with relock_after_fork = true (the default);
 * DUENDE_MLOCK_RELOCK_AFTER_FORK=0 turns it off for the preload shim. Since 1.1. */
DUENDE_MLOCK_C_API int duende_mlock_lock_with_config_relock(const duende_mlock_config* config,
                                                            bool relock_after_fork,
                                                            duende_mlock_status* status);

/* duende_mlock_lock_with_config() with the defaults. `status` may be NULL. */
DUENDE_MLOCK_C_API int duende_mlock_lock_all(duende_mlock_status* status);

/* munlockall(); children forked afterwards no longer re-lock. Returns 0 or the errno. */
DUENDE_MLOCK_C_API int duende_mlock_unlock_all(void);

/* VmLck > 0 for this process. */
DUENDE_MLOCK_C_API bool duende_mlock_is_locked(void);

/* VmLck of this process in bytes (0 when unreadable). */
DUENDE_MLOCK_C_API uint64_t duende_mlock_locked_bytes(void);

/* Reads process `pid`'s memory figures; with check_coverage also whether every lockable
 * mapping is locked. Returns 0, or ESRCH (gone or zombie), EACCES/EPERM (not allowed),
 * EINVAL (kernel thread, bad pid or malformed /proc), or another errno of reading /proc. */
DUENDE_MLOCK_C_API int duende_mlock_inspect(pid_t pid, bool check_coverage,
                                            duende_mlock_process_memory* out);

/* Formats *status as the C++ MlockStatus::to_string() does ("locked (4 KB)") into buf,
 * NUL-terminated and truncated to len. Returns the untruncated length (as snprintf). */
DUENDE_MLOCK_C_API size_t duende_mlock_status_format(const duende_mlock_status* status, char* buf,
                                                     size_t len);

/* A one-line message for a locking errno, with the fix: the text of
 * MlockError::message() for mlockall(). Never NULL; valid in the calling thread until its
 * next call of this function. */
DUENDE_MLOCK_C_API const char* duende_mlock_error_message(int error_number);

#ifdef __cplusplus
}
#endif

#endif /* DUENDE_MLOCK_H */
