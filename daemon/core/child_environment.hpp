// The environment a supervised child starts with: clean, not inherited.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace duende::supervisor {

inline constexpr const char* kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Builds "K=V" entries, sorted by key: PATH (kDefaultPath); USER, LOGNAME and HOME when
// the child runs as a named user (`home` is that user's home, may be empty); then the
// child's own `environment` (which may override those); then, not overridable,
// NOTIFY_SOCKET=`notify_socket` and mlock::lock_environment(child.mlock):
// DUENDE_MLOCK_REPORT=1, DUENDE_MLOCK_CURRENT, _FUTURE, _ONFAULT, _REQUIRED, _IO_FLUSHER,
// _RETAIN_HEAP from its mlock flags ("1"/"0"); with
// `preload`, LD_PRELOAD = `preload_path` followed by any LD_PRELOAD the child's
// environment gave (space-separated, as ld.so reads it).
std::vector<std::string> child_environment(const ChildSpec& child, const std::string& notify_socket,
                                           const std::string& preload_path,
                                           const std::string& home);

}  // namespace duende::supervisor
