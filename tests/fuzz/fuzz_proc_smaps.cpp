// Fuzzes the /proc/PID/smaps parser, parse_smaps_coverage(). Input: the text of one file.
//
// Invariants beyond "no crash, no exception":
//  - the counts nest: unlocked <= lockable <= mappings; swapped_shmem <= swapped;
//  - a first unlocked mapping is named exactly when one is unlocked, in printable ASCII
//    and at most 256 bytes (it goes to logs and D-Bus);
//  - appending whole mappings counts exactly them: one locked (Rss 4 kB, Locked 4 kB), one
//    unlocked shared one (Rss 8 kB, Swap 12 kB), and the [vsyscall] gate area (never
//    lockable) add 3 mappings, 2 lockable, 1 unlocked and those figures; the unlocked one
//    is named when it is the first;
//  - a text cut off after a mapping's header is never taken for a result (the guarantee
//    that a short read is not mistaken for "fully locked").
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "proc_smaps.hpp"

namespace {

using duende::mlock::internal::parse_smaps_coverage;
using duende::mlock::internal::SmapsCoverage;

constexpr std::string_view kThreeMappings =
    "\n7f0000000000-7f0000001000 r-xp 00000000 08:01 42 /usr/lib/fuzzed.so\n"
    "Rss:                   4 kB\n"
    "Locked:                4 kB\n"
    "VmFlags: rd ex mr mw me lo \n"
    "7f0000001000-7f0000003000 rw-s 00000000 00:01 7 \n"
    "Rss:                   8 kB\n"
    "Swap:                 12 kB\n"
    "VmFlags: rd wr sh mr mw me\n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n"
    "VmFlags: ex\n";
constexpr std::string_view kAddedUnlocked = "7f0000001000-7f0000003000 rw-s";

constexpr std::string_view kCutOffMapping =
    "\n7f0000002000-7f0000003000 rw-p 00000000 00:00 0 \n"
    "Rss:                   4 kB\n";

bool printable_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return false;
  return true;
}

// True when adding the appended mappings' figures cannot overflow a sum.
bool room_for_more(const SmapsCoverage& c) {
  constexpr std::uint64_t kLimit = std::numeric_limits<std::uint64_t>::max() - (1u << 20);
  return c.locked_bytes < kLimit && c.resident_unlocked_bytes < kLimit &&
         c.swapped_bytes < kLimit && c.swapped_shmem_bytes < kLimit;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  duende::fuzz::run_without_exceptions([&] {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const auto coverage = parse_smaps_coverage(text);
    if (!coverage) {
      DUENDE_FUZZ_CHECK(!coverage.error().empty());
      return;
    }
    const SmapsCoverage& c = *coverage;
    DUENDE_FUZZ_CHECK(c.unlocked_mappings <= c.lockable_mappings &&
                      c.lockable_mappings <= c.mappings);
    DUENDE_FUZZ_CHECK(c.swapped_shmem_bytes <= c.swapped_bytes);
    DUENDE_FUZZ_CHECK(c.first_unlocked.empty() == (c.unlocked_mappings == 0));
    DUENDE_FUZZ_CHECK(c.first_unlocked.size() <= 256 && printable_ascii(c.first_unlocked));
    if (room_for_more(c)) {
      const auto longer = parse_smaps_coverage(text + std::string(kThreeMappings));
      DUENDE_FUZZ_CHECK(longer.has_value());
      DUENDE_FUZZ_CHECK(longer->mappings == c.mappings + 3 &&
                        longer->lockable_mappings == c.lockable_mappings + 2 &&
                        longer->unlocked_mappings == c.unlocked_mappings + 1);
      DUENDE_FUZZ_CHECK(longer->locked_bytes == c.locked_bytes + 4096 &&
                        longer->resident_unlocked_bytes == c.resident_unlocked_bytes + 8192 &&
                        longer->swapped_bytes == c.swapped_bytes + 12288 &&
                        longer->swapped_shmem_bytes == c.swapped_shmem_bytes + 12288);
      DUENDE_FUZZ_CHECK(
          longer->first_unlocked ==
          (c.first_unlocked.empty() ? std::string(kAddedUnlocked) : c.first_unlocked));
    }
    DUENDE_FUZZ_CHECK(!parse_smaps_coverage(text + std::string(kCutOffMapping)).has_value());
  });
  return 0;
}
