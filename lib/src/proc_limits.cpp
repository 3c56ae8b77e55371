#include "proc_limits.hpp"

#include <charconv>

namespace duende::mlock::internal {
namespace {

constexpr std::string_view kMemlockLine = "Max locked memory";

std::string_view next_field(std::string_view& s) {
  const auto start = s.find_first_not_of(" \t\r");
  if (start == std::string_view::npos) return s = {}, std::string_view();
  s.remove_prefix(start);
  const auto end = s.find_first_of(" \t\r");
  const std::string_view field = s.substr(0, end);
  s.remove_prefix(end == std::string_view::npos ? s.size() : end);
  return field;
}

Result<std::optional<std::uint64_t>, std::string> parse_limit(std::string_view name,
                                                              std::string_view text) {
  if (text.empty()) return Unexpected(std::string(name) + ": missing");
  if (text == "unlimited") return std::optional<std::uint64_t>();
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc::result_out_of_range)
    return Unexpected(std::string(name) + ": out of range: \"" + std::string(text) + "\"");
  if (ec != std::errc() || end != text.data() + text.size())
    return Unexpected(std::string(name) + ": not a number: \"" + std::string(text.substr(0, 32)) +
                      "\"");
  return std::optional<std::uint64_t>(n);
}

}  // namespace

Result<MemlockLimit, std::string> parse_memlock_limit(std::string_view limits_text) {
  std::optional<MemlockLimit> out;
  while (!limits_text.empty()) {
    const auto nl = limits_text.find('\n');
    std::string_view line = limits_text.substr(0, nl);
    limits_text = nl == std::string_view::npos ? std::string_view() : limits_text.substr(nl + 1);
    if (!line.starts_with(kMemlockLine) ||
        line.substr(kMemlockLine.size()).find_first_not_of(" \t\r") == 0)
      continue;
    if (out) return Unexpected(std::string("\"Max locked memory\" appears twice"));
    line.remove_prefix(kMemlockLine.size());
    const auto soft = parse_limit("Max locked memory: soft limit", next_field(line));
    if (!soft) return Unexpected(soft.error());
    const auto hard = parse_limit("Max locked memory: hard limit", next_field(line));
    if (!hard) return Unexpected(hard.error());
    const std::string_view unit = next_field(line);
    if (unit != "bytes")
      return Unexpected("Max locked memory: expected unit bytes, got \"" +
                        std::string(unit.substr(0, 32)) + "\"");
    if (!next_field(line).empty())
      return Unexpected(std::string("Max locked memory: text after the unit"));
    out = MemlockLimit{*soft, *hard};
  }
  if (!out) return Unexpected(std::string("no \"Max locked memory\" line"));
  return *out;
}

}  // namespace duende::mlock::internal
