// Reads one field of /proc/PID/status with plain string searching, independent of the
// library's parser, so tests check the library against the kernel rather than itself.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace duende::test {

// The numeric value of `field` ("VmLck", "Threads") in /proc/PID/status; for kB fields
// the value in bytes. nullopt when the process or the field is gone.
inline std::optional<std::uint64_t> status_field(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    std::istringstream s(line.substr(field.size() + 1));
    std::uint64_t n = 0;
    std::string unit;
    if (!(s >> n)) return std::nullopt;
    s >> unit;
    return unit == "kB" ? n * 1024 : n;
  }
  return std::nullopt;
}

inline std::uint64_t vm_lck(pid_t pid) { return status_field(pid, "VmLck").value_or(0); }

// Counts mappings in /proc/PID/smaps whose VmFlags carry `flag` (e.g. "lo", "lf").
inline int smaps_flag_count(pid_t pid, const std::string& flag) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
  std::string line;
  int n = 0;
  while (std::getline(in, line))
    if (line.rfind("VmFlags:", 0) == 0 && (line + " ").find(" " + flag + " ") != std::string::npos)
      ++n;
  return n;
}

}  // namespace duende::test
