// /proc/swaps, the kernel's list of active swap areas, parsed: pure, no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace duende::supervisor {

// One active swap area.
struct SwapArea {
  std::string path;  // as the kernel shows it, unescaped ("\040" is a space)
  std::string type;  // "partition" or "file"
  std::uint64_t size_bytes = 0;
  std::uint64_t used_bytes = 0;
  int priority = 0;
  bool operator==(const SwapArea&) const = default;
};

// The areas listed in `text` (the header line skipped). A line that does not parse (too
// few fields, a size that is not a number) is left out: the kernel writes every line the
// same way, so such a line is a truncated read, never a reason to fail the rest. Sizes
// are KiB in the file and bytes here.
std::vector<SwapArea> parse_proc_swaps(std::string_view text);

// The area at `path` among `areas`, or nullptr.
const SwapArea* find_swap_area(const std::vector<SwapArea>& areas, std::string_view path);

}  // namespace duende::supervisor
