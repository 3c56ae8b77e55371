// What `mlockctl watch` prints of a change, in words, without the noise: values that did
// not change are not repeated, and figures that move all the time (bytes, thread counts)
// are printed only when they move far from what was last printed. Pure: fed with the
// property values as `mlockctl show` spells them.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace duende::supervisor {

// A figure that moves with every check (LockedBytes, SwappedBytes, ResidentBytes,
// SelfLockedBytes, SwapUsedBytes, …): printed when it differs from the last printed value
// by at least a quarter and at least 1 MiB (for counts: a quarter and 4), and when
// LockedBytes, SwappedBytes, SwappedShmemBytes or SwapUsedBytes crosses zero. StartedAt,
// AdoptedAt and Processes are never printed (the pid and state lines say it), nor
// IoFlusher becoming unknown or known.
bool is_churning(const std::string& property);

class WatchFilter {
 public:
  // `who`: a child's name, or "supervisor" for the manager. `changed`: property → value
  // (ctl_show's spelling). Returns the lines to print, without timestamps:
  //   "ramswap: running → stopping"                          (State)
  //   "ramswap: pid 4242"                                    (Pid, when not 0)
  //   "ramswap: last failure: exec …: No such file …"        (LastFailure, when not "")
  //   "ramswap: LockedBytes 12582912 → 0"                    (others, "Key old → new")
  // The first value seen of a property is remembered, not printed (see seed()).
  std::vector<std::string> changes(const std::string& who,
                                   const std::map<std::string, std::string>& changed);
  // Remembers values without printing them (the snapshot read at the start, a child added).
  void seed(const std::string& who, const std::map<std::string, std::string>& values);
  // A child removed, or the supervisor gone: its values are forgotten.
  void forget(const std::string& who);
  void forget_all() { printed_.clear(); }

 private:
  std::map<std::string, std::map<std::string, std::string>> printed_;  // who → key → value
};

}  // namespace duende::supervisor
