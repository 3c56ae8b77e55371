#include "proc_task_stat.hpp"

#include <charconv>

#include "duende/mlock.hpp"

namespace duende::mlock::internal {
namespace {

// The first field of `s` separated by blanks, removed from `s`; "" when none is left.
std::string_view next_field(std::string_view& s) {
  const auto start = s.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return s = {}, std::string_view();
  s.remove_prefix(start);
  const auto end = s.find_first_of(" \t\r\n");
  const std::string_view field = s.substr(0, end);
  s.remove_prefix(end == std::string_view::npos ? s.size() : end);
  return field;
}

template <class N>
Result<N, std::string> parse_decimal(std::string_view name, std::string_view text) {
  N n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc::result_out_of_range)
    return Unexpected(std::string(name) + ": out of range: \"" + std::string(text) + "\"");
  if (ec != std::errc() || end != text.data() + text.size() || text.front() == '-')
    return Unexpected(std::string(name) + ": not a number: \"" + std::string(text.substr(0, 32)) +
                      "\"");
  return n;
}

}  // namespace

Result<TaskStat, std::string> parse_task_stat(std::string_view line) {
  const auto open = line.find(" (");
  if (open == std::string_view::npos || open == 0)
    return Unexpected(std::string("no \"TID (COMM)\" at the start"));
  const auto tid = parse_decimal<std::int64_t>("tid", line.substr(0, open));
  if (!tid) return Unexpected(tid.error());
  const auto close = line.rfind(')');
  if (close == std::string_view::npos || close < open + 2)
    return Unexpected(std::string("no ')' after the command name"));
  TaskStat out;
  out.tid = *tid;
  out.comm = line.substr(open + 2, close - open - 2);
  std::string_view rest = line.substr(close + 1);
  std::string_view fields[7];  // fields 3 to 9
  for (auto& f : fields) {
    f = next_field(rest);
    if (f.empty()) return Unexpected(std::string("too few fields: flags (field 9) is missing"));
  }
  if (fields[0].size() != 1)
    return Unexpected("state: not one letter: \"" + std::string(fields[0].substr(0, 32)) + "\"");
  out.state = fields[0].front();
  const auto flags = parse_decimal<std::uint32_t>("flags", fields[6]);
  if (!flags) return Unexpected(flags.error());
  out.flags = *flags;
  return out;
}

}  // namespace duende::mlock::internal

namespace duende::mlock {

Result<std::uint32_t, std::string> parse_task_stat_flags(std::string_view stat_line) {
  const auto stat = internal::parse_task_stat(stat_line);
  if (!stat) return Unexpected(stat.error());
  return stat->flags;
}

}  // namespace duende::mlock
