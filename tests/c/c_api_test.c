/* The C ABI, compiled as C11: a C daemon's view of libduende-mlock.
 * Run as its own process (it locks itself), it prints one line per check and exits 0
 * only when all of them held. */
#include <duende/mlock.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures = 0;

#define CHECK(cond)                                   \
  do {                                                \
    if (cond) {                                       \
      printf("ok   %s\n", #cond);                     \
    } else {                                          \
      printf("FAIL %s (line %d)\n", #cond, __LINE__); \
      ++failures;                                     \
    }                                                 \
  } while (0)

/* VmLck of pid in bytes, read independently of the library. */
static unsigned long long vm_lck(pid_t pid) {
  char path[64], line[256];
  unsigned long long kb = 0;
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE* f = fopen(path, "r");
  if (!f) return 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmLck: %llu kB", &kb) == 1) break;
  fclose(f);
  return kb * 1024;
}

#ifndef DUENDE_SANITIZED
/* In a child without privilege (uid 65534, memlock limit 0): lock_all must fail EPERM,
 * and not required it must succeed with a failed status. Exit code 0 = as expected. */
static int unprivileged_child(void) {
  struct rlimit zero = {0, 0};
  if (setrlimit(RLIMIT_MEMLOCK, &zero) != 0) return 10;
  if (geteuid() == 0 && setuid(65534) != 0) return 11;
  duende_mlock_status st;
  int err = duende_mlock_lock_all(&st);
  if (err != EPERM || st.state != DUENDE_MLOCK_FAILED || st.failure_errno != EPERM) return 12;
  if (strstr(duende_mlock_error_message(err), "CAP_IPC_LOCK") == NULL) return 13;
  duende_mlock_config cfg;
  duende_mlock_config_init(&cfg);
  cfg.required = false;
  err = duende_mlock_lock_with_config(&cfg, &st);
  if (err != 0 || st.state != DUENDE_MLOCK_FAILED || st.failure_errno != EPERM) return 14;
  return 0;
}
#endif

int main(void) {
  duende_mlock_config cfg;
  duende_mlock_config_init(&cfg);
  CHECK(cfg.current && cfg.future && cfg.required && !cfg.onfault);
  CHECK(!cfg.io_flusher && !cfg.retain_heap);
  CHECK(duende_mlock_lock_with_config(NULL, NULL) == EINVAL);

  char text[64];
  duende_mlock_status fake = {DUENDE_MLOCK_LOCKED, 4096, 0, false};
  CHECK(duende_mlock_status_format(&fake, text, sizeof text) == strlen("locked (4 KB)"));
  CHECK(strcmp(text, "locked (4 KB)") == 0);
  CHECK(duende_mlock_status_format(&fake, text, 4) == 13 && strcmp(text, "loc") == 0);

#ifdef DUENDE_SANITIZED
  /* ASan intercepts mlockall() as a no-op returning 0: nothing real to check. */
  const int can_lock = 0;
#else
  const int can_lock = geteuid() == 0;
  pid_t pid = fork();
  if (pid == 0) _exit(unprivileged_child());
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  CHECK(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
#endif
  if (can_lock) {
    duende_mlock_status st;
    CHECK(duende_mlock_lock_all(&st) == 0);
    CHECK(st.state == DUENDE_MLOCK_LOCKED && st.bytes_locked > 0);
    CHECK(duende_mlock_is_locked());
    CHECK(duende_mlock_locked_bytes() == vm_lck(getpid()));

    duende_mlock_process_memory mem;
    CHECK(duende_mlock_inspect(getpid(), true, &mem) == 0);
    CHECK(mem.pid == getpid() && mem.locked_bytes > 0 && mem.coverage_checked && mem.fully_locked);
    CHECK(duende_mlock_unlock_all() == 0);
    CHECK(vm_lck(getpid()) == 0);
    CHECK(!duende_mlock_is_locked());
  } else {
    printf("skip locking checks: not root, or a sanitizer build\n");
  }
  CHECK(duende_mlock_inspect(0, false, NULL) == EINVAL);
  printf("%d failed\n", failures);
  return failures == 0 ? 0 : 1;
}
