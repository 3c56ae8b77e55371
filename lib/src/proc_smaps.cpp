#include "proc_smaps.hpp"

#include <cctype>
#include <limits>
#include <optional>

#include "printable_text.hpp"
#include "proc_status.hpp"

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

// The `index`th whitespace-separated column of a header line (0: the address range).
std::string_view header_column(std::string_view line, int index) {
  for (int column = 0;; ++column) {
    const auto start = line.find_first_not_of(' ');
    if (start == std::string_view::npos) return {};
    line.remove_prefix(start);
    const auto end = line.find(' ');
    if (column == index) return line.substr(0, end);
    if (end == std::string_view::npos) return {};
    line.remove_prefix(end);
  }
}

Result<void, std::string> add(std::uint64_t& sum, std::uint64_t bytes, std::string_view what) {
  if (bytes > std::numeric_limits<std::uint64_t>::max() - sum)
    return Unexpected("the sum of \"" + std::string(what) + ":\" does not fit in 64 bits");
  sum += bytes;
  return {};
}

// The figures of the mapping being read, kept until its VmFlags line says what it is.
struct Mapping {
  std::string_view header;
  std::optional<std::uint64_t> rss, swap, locked;
};

// Takes one "Key: N kB" line of `m` when its key is one the walk sums; false when not.
Result<bool, std::string> take_figure(Mapping& m, std::string_view line) {
  const auto colon = line.find(':');
  const std::string_view key = line.substr(0, colon);
  std::optional<std::uint64_t>* slot = key == "Rss"      ? &m.rss
                                       : key == "Swap"   ? &m.swap
                                       : key == "Locked" ? &m.locked
                                                         : nullptr;
  if (!slot || colon == std::string_view::npos) return false;
  if (*slot) return Unexpected(std::string(key) + ": appears twice");
  const auto bytes = parse_kb_value(line.substr(colon + 1));
  if (!bytes) return Unexpected(std::string(key) + ": " + bytes.error());
  *slot = *bytes;
  return true;
}

std::string in_mapping(std::string_view header, const std::string& what) {
  return "mapping \"" + printable_text(header) + "\"" + what;
}

// Adds the finished mapping `m` with VmFlags `flags` to `out`.
Result<void, std::string> add_mapping(SmapsCoverage& out, const Mapping& m,
                                      std::string_view flags) {
  const std::string_view name = header_name(m.header);
  Result<void, std::string> r = add(out.locked_bytes, m.locked.value_or(0), "Locked");
  if (r) r = add(out.swapped_bytes, m.swap.value_or(0), "Swap");
  if (r && is_shmem_mapping(header_column(m.header, 1), name))
    r = add(out.swapped_shmem_bytes, m.swap.value_or(0), "Swap");
  if (!r || is_unlockable_mapping(flags, name)) return r;
  ++out.lockable_mappings;
  if (has_flag(flags, "lo")) return {};
  ++out.unlocked_mappings;
  if (out.first_unlocked.empty()) out.first_unlocked = describe_mapping(m.header);
  return add(out.resident_unlocked_bytes, m.rss.value_or(0), "Rss");
}

}  // namespace

bool is_unlockable_mapping(std::string_view vm_flags, std::string_view name) {
  if (name == "[vsyscall]") return true;
  for (std::string_view f : {"io", "pf", "mm", "de", "ht"})
    if (has_flag(vm_flags, f)) return true;
  return false;
}

bool is_shmem_mapping(std::string_view perms, std::string_view name) {
  return (perms.size() == 4 && perms[3] == 's') || name.starts_with("/SYSV") ||
         name.starts_with("/memfd:");
}

std::string describe_mapping(std::string_view header) {
  std::string text(header_column(header, 0));
  const std::string_view perms = header_column(header, 1);
  const std::string_view name = header_name(header);
  if (!perms.empty()) text += " " + std::string(perms);
  if (!name.empty()) text += " " + std::string(name);
  return printable_text(text);
}

Result<SmapsCoverage, std::string> parse_smaps_coverage(std::string_view text) {
  SmapsCoverage out;
  Mapping current;  // header empty before the first mapping
  bool flags_seen = true;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty()) continue;
    if (is_header(line)) {
      if (!flags_seen) return Unexpected(in_mapping(current.header, " has no VmFlags line"));
      current = Mapping{line, {}, {}, {}};
      flags_seen = false;
      ++out.mappings;
      continue;
    }
    if (line.starts_with("VmFlags:")) {
      if (current.header.empty() || flags_seen)
        return Unexpected("VmFlags line outside a mapping: \"" + printable_text(line, 80) + "\"");
      flags_seen = true;
      const auto added = add_mapping(out, current, line.substr(8));
      if (!added) return Unexpected(in_mapping(current.header, ": " + added.error()));
      continue;
    }
    if (current.header.empty())
      return Unexpected("text before the first mapping: \"" + printable_text(line, 80) + "\"");
    const bool flags_done = flags_seen;
    const auto taken = take_figure(current, line);
    if (!taken) return Unexpected(in_mapping(current.header, ": " + taken.error()));
    if (*taken && flags_done)
      return Unexpected(in_mapping(
          current.header, ": \"" + printable_text(line, 80) + "\" after the VmFlags line"));
  }
  if (!flags_seen)
    return Unexpected(in_mapping(current.header, " has no VmFlags line (truncated?)"));
  return out;
}

}  // namespace duende::mlock::internal
