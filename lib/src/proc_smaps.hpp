// Pure parser for /proc/PID/smaps text: does every lockable mapping carry the lock flag?
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "duende/result.hpp"

namespace duende::mlock::internal {

struct SmapsCoverage {
  std::uint64_t mappings = 0;           // every mapping seen
  std::uint64_t lockable_mappings = 0;  // mappings mlockall() can lock
  std::uint64_t unlocked_mappings = 0;  // lockable ones without the "lo" flag
};

// True when the kernel never locks a mapping with these VmFlags and this name: VM_IO
// ("io"), VM_PFNMAP ("pf"), VM_MIXEDMAP ("mm"), VM_DONTEXPAND ("de"), hugetlb ("ht"),
// and the gate area "[vsyscall]" (mlock_fixup() in mm/mlock.c skips all of them).
bool is_unlockable_mapping(std::string_view vm_flags, std::string_view name);

// Walks every mapping. Each mapping starts with a header line
// ("start-end perms offset dev inode [name]") and must carry a "VmFlags:" line before the
// next header or the end; a mapping without one (truncated text) or a malformed header is
// an error naming the mapping, so a cut-off read is never taken for "fully locked".
Result<SmapsCoverage, std::string> parse_smaps_coverage(std::string_view text);

}  // namespace duende::mlock::internal
