#include "api/human_size.hpp"

#include <cmath>
#include <cstdio>

namespace duende::supervisor {

std::string human_size(std::uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  // Divide on the value as it will be printed, so 1048575 bytes reads "1.0 MiB", not
  // "1024 KiB", and 10239 bytes "10 KiB", not "10.0 KiB".
  const auto shown = [](double v) { return v < 9.95 ? std::round(v * 10) / 10 : std::round(v); };
  while (unit < 6 && (unit == 0 ? value >= 1024 : shown(value) >= 1024)) {
    value /= 1024;
    ++unit;
  }
  if (unit > 0 && value >= 9.95 && value < 10) value = 10;
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
