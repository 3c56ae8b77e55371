// Pure parsers for /proc/PID/status text. No I/O: callers read the file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "duende/result.hpp"

namespace duende::mlock::internal {

// The fields of /proc/PID/status this library uses. A field absent from the text is
// nullopt (kernel threads and zombies have no Vm* lines).
struct ProcStatus {
  char state = '?';  // first letter of "State:", e.g. 'R', 'S', 'Z'
  std::optional<std::uint64_t> vm_lck;
  std::optional<std::uint64_t> vm_rss;
  std::optional<std::uint64_t> vm_swap;
  std::optional<std::uint64_t> vm_pin;
  std::optional<int> threads;
  bool kernel_thread = false;  // "Kthread: 1" (Linux 6.0+)
};

// Parses the value of a "VmXxx:" line, the part after the colon, e.g. "\t   1234 kB",
// into bytes. Errors (as text): empty, not a number, a unit other than kB, trailing
// garbage, or a value whose byte count does not fit in 64 bits.
Result<std::uint64_t, std::string> parse_kb_value(std::string_view value);

// Parses a whole status text. Unknown lines are ignored; a malformed line of a field this
// library uses, or the same such field twice, is an error naming the line.
Result<ProcStatus, std::string> parse_proc_status(std::string_view text);

}  // namespace duende::mlock::internal
