#include "human_size.hpp"

#include <cstdio>

namespace duende::supervisor {

std::string human_size(std::uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 6) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else if (value < 10)
    std::snprintf(buf, sizeof buf, "%.1f %s", value, kUnits[unit]);
  else
    std::snprintf(buf, sizeof buf, "%.0f %s", value, kUnits[unit]);
  return buf;
}

}  // namespace duende::supervisor
