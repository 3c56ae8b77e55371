#include "proc_status.hpp"

#include <charconv>
#include <limits>

namespace duende::mlock::internal {
namespace {

constexpr std::uint64_t kMaxKb = std::numeric_limits<std::uint64_t>::max() / 1024;

// Without surrounding blanks (and a CR before the line's end); "" when nothing else is
// left. `last` is searched first: a value of only blanks and CRs ("\t\r") has no last.
std::string_view trim(std::string_view s) {
  const auto last = s.find_last_not_of(" \t\r");
  if (last == std::string_view::npos) return {};
  const auto first = s.find_first_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

// Sets `slot` from a kB value, refusing duplicates: a second VmLck line would make the
// figure ambiguous, and a wrong number is worse than an error.
Result<void, std::string> set_kb(std::optional<std::uint64_t>& slot, std::string_view key,
                                 std::string_view value) {
  if (slot) return Unexpected(std::string(key) + ": appears twice");
  auto bytes = parse_kb_value(value);
  if (!bytes) return Unexpected(std::string(key) + ": " + bytes.error());
  slot = *bytes;
  return {};
}

}  // namespace

Result<std::uint64_t, std::string> parse_kb_value(std::string_view value) {
  const std::string_view v = trim(value);
  if (v.empty()) return Unexpected(std::string("empty value"));
  std::uint64_t kb = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), kb);
  if (ec == std::errc::result_out_of_range || (ec == std::errc() && kb > kMaxKb))
    return Unexpected("value out of range: \"" + std::string(v) + "\"");
  if (ec != std::errc() || end == v.data())
    return Unexpected("not a number: \"" + std::string(v) + "\"");
  const std::string_view unit = trim(std::string_view(end, v.data() + v.size() - end));
  if (unit != "kB") return Unexpected("expected unit kB, got \"" + std::string(unit) + "\"");
  return kb * 1024;
}

Result<ProcStatus, std::string> parse_proc_status(std::string_view text) {
  ProcStatus out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, colon);
    const std::string_view value = line.substr(colon + 1);
    Result<void, std::string> r;
    if (key == "VmLck")
      r = set_kb(out.vm_lck, key, value);
    else if (key == "VmRSS")
      r = set_kb(out.vm_rss, key, value);
    else if (key == "VmSwap")
      r = set_kb(out.vm_swap, key, value);
    else if (key == "VmPin")
      r = set_kb(out.vm_pin, key, value);
    else if (key == "State") {
      const auto s = trim(value);
      if (s.empty()) return Unexpected(std::string("State: empty value"));
      out.state = s.front();
    } else if (key == "Kthread") {
      out.kernel_thread = trim(value) == "1";
    } else if (key == "Threads") {
      const auto s = trim(value);
      int n = 0;
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      if (ec != std::errc() || end != s.data() + s.size() || n < 0)
        return Unexpected("Threads: not a number: \"" + std::string(s) + "\"");
      out.threads = n;
    }
    if (!r) return Unexpected(r.error());
  }
  return out;
}

}  // namespace duende::mlock::internal
