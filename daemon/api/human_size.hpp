// Byte counts for people: "0 B", "812 KiB", "1.2 GiB".
#pragma once

#include <cstdint>
#include <string>

namespace duende::supervisor {

// Binary units (KiB, MiB, GiB, TiB); one decimal below 10 of a unit, none above.
std::string human_size(std::uint64_t bytes);

}  // namespace duende::supervisor
