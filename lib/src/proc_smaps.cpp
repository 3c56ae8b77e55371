#include "proc_smaps.hpp"

#include <cctype>

namespace duende::mlock::internal {
namespace {

bool has_flag(std::string_view flags, std::string_view flag) {
  while (!flags.empty()) {
    const auto start = flags.find_first_not_of(' ');
    if (start == std::string_view::npos) return false;
    flags.remove_prefix(start);
    const auto end = flags.find(' ');
    if (flags.substr(0, end) == flag) return true;
    if (end == std::string_view::npos) return false;
    flags.remove_prefix(end);
  }
  return false;
}

bool is_hex(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// A header is "hex-hex perms ...": the address range decides, since field lines
// ("Rss:   4 kB") never start with hex digits followed by '-'.
bool is_header(std::string_view line) {
  const auto dash = line.find('-');
  const auto space = line.find(' ');
  return dash != std::string_view::npos && space != std::string_view::npos && dash < space &&
         is_hex(line.substr(0, dash)) && is_hex(line.substr(dash + 1, space - dash - 1));
}

// The mapping's name: the sixth whitespace-separated column, possibly containing spaces.
std::string_view header_name(std::string_view line) {
  for (int column = 0; column < 5; ++column) {
    const auto start = line.find_first_not_of(' ');
    if (start == std::string_view::npos) return {};
    line.remove_prefix(start);
    const auto end = line.find(' ');
    if (end == std::string_view::npos) return {};
    line.remove_prefix(end);
  }
  const auto start = line.find_first_not_of(' ');
  return start == std::string_view::npos ? std::string_view() : line.substr(start);
}

}  // namespace

bool is_unlockable_mapping(std::string_view vm_flags, std::string_view name) {
  if (name == "[vsyscall]") return true;
  for (std::string_view f : {"io", "pf", "mm", "de", "ht"})
    if (has_flag(vm_flags, f)) return true;
  return false;
}

Result<SmapsCoverage, std::string> parse_smaps_coverage(std::string_view text) {
  SmapsCoverage out;
  std::string_view header;  // current mapping's header, empty before the first
  bool flags_seen = true;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty()) continue;
    if (is_header(line)) {
      if (!flags_seen)
        return Unexpected("mapping \"" + std::string(header) + "\" has no VmFlags line");
      header = line;
      flags_seen = false;
      ++out.mappings;
      continue;
    }
    if (line.starts_with("VmFlags:")) {
      if (header.empty() || flags_seen)
        return Unexpected("VmFlags line outside a mapping: \"" + std::string(line) + "\"");
      flags_seen = true;
      const std::string_view flags = line.substr(8);
      if (is_unlockable_mapping(flags, header_name(header))) continue;
      ++out.lockable_mappings;
      if (!has_flag(flags, "lo")) ++out.unlocked_mappings;
      continue;
    }
    if (header.empty())
      return Unexpected("text before the first mapping: \"" + std::string(line.substr(0, 80)) +
                        "\"");
  }
  if (!flags_seen)
    return Unexpected("mapping \"" + std::string(header) + "\" has no VmFlags line (truncated?)");
  return out;
}

}  // namespace duende::mlock::internal
