// The InspectError texts every inspect function shares: "pid 42: what".
#pragma once

#include <sys/types.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "duende/mlock.hpp"

namespace duende::mlock::internal {

inline Unexpected<InspectError> inspect_failure(pid_t pid, int error_number,
                                                const std::string& what) {
  return Unexpected(InspectError{error_number, "pid " + std::to_string(pid) + ": " + what});
}

// Errors of open()/read() on /proc/PID/...: ENOENT and ESRCH both mean the process is gone.
inline Unexpected<InspectError> read_failure(pid_t pid, const std::string& path, int e) {
  if (e == ENOENT || e == ESRCH) return inspect_failure(pid, ESRCH, "no such process");
  return inspect_failure(pid, e, path + ": " + std::strerror(e));
}

}  // namespace duende::mlock::internal
