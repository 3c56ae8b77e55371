// MlockConfig from DUENDE_MLOCK_* environment variables (the preload shim's input).
#pragma once

#include <functional>
#include <string>

#include "duende/mlock.hpp"

namespace duende::mlock::internal {

// Looks up one environment variable; nullptr when unset (std::getenv fits).
using EnvLookup = std::function<const char*(const char*)>;

// Reads DUENDE_MLOCK_CURRENT, _FUTURE, _ONFAULT, _REQUIRED, _IO_FLUSHER and _RETAIN_HEAP.
// Each is "1" or "0"; unset or empty keeps MlockConfig's default. Anything else is an
// error naming the variable and its value, never a silent default.
Result<MlockConfig, std::string> config_from_environment(const EnvLookup& lookup);

}  // namespace duende::mlock::internal
