// The C ABI: thin translations onto the C++ API. No exception may cross it.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "duende/mlock.h"
#include "duende/mlock.hpp"

namespace dm = duende::mlock;

namespace {

dm::MlockConfig to_cpp(const duende_mlock_config& c, bool relock_after_fork) {
  return dm::MlockConfig::builder()
      .current(c.current)
      .future(c.future)
      .required(c.required)
      .onfault(c.onfault)
      .io_flusher(c.io_flusher)
      .retain_heap(c.retain_heap)
      .relock_after_fork(relock_after_fork)
      .build();
}

duende_mlock_status to_c(const dm::MlockStatus& s) {
  duende_mlock_status out{};
  out.state = s.is_locked()   ? DUENDE_MLOCK_LOCKED
              : s.is_failed() ? DUENDE_MLOCK_FAILED
                              : DUENDE_MLOCK_UNSUPPORTED;
  out.bytes_locked = s.bytes_locked();
  out.failure_errno = s.failure_errno();
  out.onfault_dropped = s.onfault_dropped();
  return out;
}

dm::MlockStatus to_cpp(const duende_mlock_status& s) {
  switch (s.state) {
    case DUENDE_MLOCK_LOCKED:
      return dm::MlockStatus::locked(s.bytes_locked, s.onfault_dropped);
    case DUENDE_MLOCK_FAILED:
      return dm::MlockStatus::failed(s.failure_errno);
    default:
      return dm::MlockStatus::unsupported();
  }
}

}  // namespace

extern "C" {

void duende_mlock_config_init(duende_mlock_config* config) {
  if (!config) return;
  const dm::MlockConfig d;
  *config = {d.current(), d.future(), d.required(), d.onfault(), d.io_flusher(), d.retain_heap()};
}

int duende_mlock_lock_with_config(const duende_mlock_config* config, duende_mlock_status* status) {
  return duende_mlock_lock_with_config_relock(config, dm::MlockConfig().relock_after_fork(),
                                              status);
}

int duende_mlock_lock_with_config_relock(const duende_mlock_config* config, bool relock_after_fork,
                                         duende_mlock_status* status) {
  if (!config || !status) return EINVAL;
  try {
    const auto r = dm::lock_with_config(to_cpp(*config, relock_after_fork));
    if (!r) {
      *status = to_c(dm::MlockStatus::failed(r.error().error_number()));
      return r.error().error_number();
    }
    *status = to_c(*r);
    return 0;
  } catch (...) {
    return ENOMEM;
  }
}

int duende_mlock_lock_all(duende_mlock_status* status) {
  duende_mlock_config config;
  duende_mlock_config_init(&config);
  duende_mlock_status ignored;
  return duende_mlock_lock_with_config(&config, status ? status : &ignored);
}

int duende_mlock_unlock_all(void) {
  const auto r = dm::unlock_all();
  return r ? 0 : r.error().error_number();
}

bool duende_mlock_is_locked(void) { return dm::is_locked(); }

uint64_t duende_mlock_locked_bytes(void) { return dm::locked_bytes(); }

int duende_mlock_inspect(pid_t pid, bool check_coverage, duende_mlock_process_memory* out) {
  if (!out) return EINVAL;
  try {
    const auto r = dm::inspect(pid, check_coverage);
    if (!r) return r.error().error_number;
    *out = {r->pid,           r->locked_bytes,      r->resident_bytes,
            r->swapped_bytes, r->pinned_bytes,      r->coverage_checked,
            r->fully_locked,  r->lockable_mappings, r->unlocked_mappings};
    return 0;
  } catch (...) {
    return ENOMEM;
  }
}

size_t duende_mlock_status_format(const duende_mlock_status* status, char* buf, size_t len) {
  if (!status) return 0;
  try {
    const std::string text = to_cpp(*status).to_string();
    if (buf && len > 0) std::snprintf(buf, len, "%s", text.c_str());
    return text.size();
  } catch (...) {
    if (buf && len > 0) buf[0] = '\0';
    return 0;
  }
}

const char* duende_mlock_error_message(int error_number) {
  thread_local std::string message;
  try {
    message = dm::MlockError::from_errno(error_number).message();
  } catch (...) {
    return "mlockall failed (out of memory while formatting the message)";
  }
  return message.c_str();
}

}  // extern "C"
