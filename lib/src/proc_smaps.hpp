// Pure parser for /proc/PID/smaps text: does every lockable mapping carry the lock flag,
// and how much memory is locked, resident but unlocked, and swapped out? One walk gives
// both, so the counts and the figures describe the same moment.
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
  // Sums of the mappings' kB lines, in bytes; a mapping without the line counts 0.
  std::uint64_t locked_bytes = 0;             // "Locked:" of every mapping
  std::uint64_t resident_unlocked_bytes = 0;  // "Rss:" of the unlocked lockable mappings
  std::uint64_t swapped_bytes = 0;            // "Swap:" of every mapping
  std::uint64_t swapped_shmem_bytes = 0;      // "Swap:" of the is_shmem_mapping() ones
  // describe_mapping() of the first unlocked lockable mapping; "" when there is none.
  std::string first_unlocked;
};

// True when the kernel never locks a mapping with these VmFlags and this name: VM_IO
// ("io"), VM_PFNMAP ("pf"), VM_MIXEDMAP ("mm"), VM_DONTEXPAND ("de"), hugetlb ("ht"),
// and the gate area "[vsyscall]" (mlock_fixup() in mm/mlock.c skips all of them).
bool is_unlockable_mapping(std::string_view vm_flags, std::string_view name);

// True when the mapping's pages are shared memory (shmem), whose swapped-out pages
// VmSwap in /proc/PID/status does not count (it counts swap entries of anonymous pages
// only; smaps' "Swap:" adds shmem_swap_usage()): a shared mapping ('s' as the fourth
// letter of `perms`: tmpfs and /dev/shm files, MAP_SHARED|MAP_ANONYMOUS, which shows as
// "/dev/zero (deleted)", SysV segments), and SysV ("/SYSV…") and memfd ("/memfd:…")
// mappings also when private. A regular file mapped shared is written back, not swapped,
// so its "Swap:" is 0 anyway. Not recognised: a tmpfs file mapped private (its name is
// just a path); and in a private memfd mapping the pages written since (copied, so
// anonymous) are counted in VmSwap as well.
bool is_shmem_mapping(std::string_view perms, std::string_view name);

// "start-end perms name" of a mapping's header line ("7f12a000-7f12c000 r-xp /usr/lib/x.so",
// "55d0a000-55d2b000 rw-p [heap]", "7f12c000-7f12d000 rw-p" when unnamed), through
// printable_text(): the name can hold any byte.
std::string describe_mapping(std::string_view header);

// Walks every mapping. Each mapping starts with a header line
// ("start-end perms offset dev inode [name]") and must carry a "VmFlags:" line, its last,
// before the next header or the end; a mapping without one (truncated text) or a malformed
// header is an error naming the mapping, so a cut-off read is never taken for "fully
// locked". Also errors: an "Rss:", "Swap:" or "Locked:" line that parse_kb_value()
// refuses, that appears twice in a mapping or after its VmFlags line, and a sum that does
// not fit in 64 bits. Other lines are ignored.
Result<SmapsCoverage, std::string> parse_smaps_coverage(std::string_view text);

}  // namespace duende::mlock::internal
