#include "core/proc_swaps.hpp"

#include <charconv>

namespace duende::supervisor {
namespace {

// The kernel escapes space, tab, newline and backslash in the path as \ooo (seq_file's
// mangle_path with " \t\n\\").
std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const std::string_view o = s.substr(i + 1, 3);
      if (o[0] >= '0' && o[0] <= '3' && o[1] >= '0' && o[1] <= '7' && o[2] >= '0' && o[2] <= '7') {
        out += static_cast<char>((o[0] - '0') * 64 + (o[1] - '0') * 8 + (o[2] - '0'));
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

template <class T>
bool number(std::string_view s, T& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::vector<SwapArea> parse_proc_swaps(std::string_view text) {
  std::vector<SwapArea> areas;
  bool header = true;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    const bool complete = nl != std::string_view::npos;
    text = complete ? text.substr(nl + 1) : std::string_view();
    if (header) {  // "Filename  Type  Size  Used  Priority"
      header = false;
      continue;
    }
    const auto f = fields(line);
    SwapArea a;
    std::uint64_t size_kib = 0, used_kib = 0;
    if (!complete || f.size() != 5 || !number(f[2], size_kib) || !number(f[3], used_kib) ||
        !number(f[4], a.priority) || size_kib > UINT64_MAX / 1024 || used_kib > UINT64_MAX / 1024)
      continue;
    a.path = unescape(f[0]);
    a.type = std::string(f[1]);
    a.size_bytes = size_kib * 1024;
    a.used_bytes = used_kib * 1024;
    areas.push_back(std::move(a));
  }
  return areas;
}

const SwapArea* find_swap_area(const std::vector<SwapArea>& areas, std::string_view path) {
  for (const SwapArea& a : areas)
    if (a.path == path) return &a;
  return nullptr;
}

}  // namespace duende::supervisor
