// Fuzzes the /proc/PID/task/TID/stat parser, parse_task_stat() (and the public
// parse_task_stat_flags() over it). Input: one stat line.
//
// Invariants beyond "no crash, no exception":
//  - the public function agrees with the internal one, value or error text;
//  - the command name lies inside the input, between the first " (" and the last ')';
//  - fields appended after the ninth change nothing (kernels add fields at the end);
//  - the parse survives a round trip: the values written back in the kernel's format
//    ("TID (COMM) STATE ... FLAGS") parse to the same values.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "duende/mlock.hpp"
#include "fuzz_check.hpp"
#include "proc_task_stat.hpp"

namespace {

using duende::mlock::internal::parse_task_stat;
using duende::mlock::internal::TaskStat;

bool same(const TaskStat& a, const TaskStat& b) {
  return a.tid == b.tid && a.comm == b.comm && a.state == b.state && a.flags == b.flags;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  duende::fuzz::run_without_exceptions([&] {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const auto stat = parse_task_stat(text);
    const auto flags = duende::mlock::parse_task_stat_flags(text);
    DUENDE_FUZZ_CHECK(stat.has_value() == flags.has_value());
    if (!stat) {
      DUENDE_FUZZ_CHECK(!stat.error().empty() && stat.error() == flags.error());
      return;
    }
    DUENDE_FUZZ_CHECK(*flags == stat->flags);
    const auto comm_at = static_cast<std::size_t>(stat->comm.data() - text.data());
    DUENDE_FUZZ_CHECK(comm_at == text.find(" (") + 2 &&
                      comm_at + stat->comm.size() == text.rfind(')'));
    const std::string longer_text = text + " 0 1 2\n";  // outlives `longer`, which points into it
    const auto longer = parse_task_stat(longer_text);
    DUENDE_FUZZ_CHECK(longer.has_value() && longer->tid == stat->tid &&
                      longer->state == stat->state && longer->flags == stat->flags &&
                      longer->comm == stat->comm);
    const std::string again_text = std::to_string(stat->tid) + " (" + std::string(stat->comm) +
                                   ") " + stat->state + " 1 1 1 0 -1 " +
                                   std::to_string(stat->flags) + " 0 0\n";
    const auto again = parse_task_stat(again_text);
    DUENDE_FUZZ_CHECK(again.has_value() && same(*again, *stat));
  });
  return 0;
}
