// Pure parser for /proc/PID/limits text: the memlock limit (RLIMIT_MEMLOCK). No I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "duende/result.hpp"

namespace duende::mlock::internal {

// RLIMIT_MEMLOCK in bytes; nullopt for "unlimited" (RLIM_INFINITY).
struct MemlockLimit {
  std::optional<std::uint64_t> soft;
  std::optional<std::uint64_t> hard;
};

// Reads the "Max locked memory" line ("Max locked memory  8388608  8388608  bytes"): the
// soft and the hard limit, each a decimal number of bytes or "unlimited", then the unit,
// which must be "bytes". Every other line is ignored. Errors (as text): no such line, the
// line twice, a missing field, a value that is neither "unlimited" nor a decimal that fits
// in 64 bits, another unit.
Result<MemlockLimit, std::string> parse_memlock_limit(std::string_view limits_text);

}  // namespace duende::mlock::internal
