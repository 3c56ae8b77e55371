// Fuzzes the /proc/PID/smaps parser, parse_smaps_coverage(). Input: the text of one file.
//
// Invariants beyond "no crash, no exception":
//  - the counts nest: unlocked <= lockable <= mappings;
//  - appending whole mappings counts exactly them: one locked, one unlocked, and the
//    [vsyscall] gate area (never lockable) add 3 mappings, 2 lockable, 1 unlocked;
//  - a text cut off after a mapping's header is never taken for a result (the guarantee
//    that a short read is not mistaken for "fully locked").
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "proc_smaps.hpp"

namespace {

using duende::mlock::internal::parse_smaps_coverage;

constexpr std::string_view kThreeMappings =
    "\n7f0000000000-7f0000001000 r-xp 00000000 08:01 42 /usr/lib/fuzzed.so\n"
    "Rss:                   4 kB\n"
    "VmFlags: rd ex mr mw me lo \n"
    "7f0000001000-7f0000002000 rw-p 00000000 00:00 0 \n"
    "VmFlags: rd wr mr mw me ac\n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n"
    "VmFlags: ex\n";

constexpr std::string_view kCutOffMapping =
    "\n7f0000002000-7f0000003000 rw-p 00000000 00:00 0 \n"
    "Rss:                   4 kB\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  duende::fuzz::run_without_exceptions([&] {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const auto coverage = parse_smaps_coverage(text);
    if (!coverage) {
      DUENDE_FUZZ_CHECK(!coverage.error().empty());
      return;
    }
    DUENDE_FUZZ_CHECK(coverage->unlocked_mappings <= coverage->lockable_mappings &&
                      coverage->lockable_mappings <= coverage->mappings);
    const auto longer = parse_smaps_coverage(text + std::string(kThreeMappings));
    DUENDE_FUZZ_CHECK(longer.has_value());
    DUENDE_FUZZ_CHECK(longer->mappings == coverage->mappings + 3 &&
                      longer->lockable_mappings == coverage->lockable_mappings + 2 &&
                      longer->unlocked_mappings == coverage->unlocked_mappings + 1);
    DUENDE_FUZZ_CHECK(!parse_smaps_coverage(text + std::string(kCutOffMapping)).has_value());
  });
  return 0;
}
