// The swap a child backs, as both sides of the supervisor see it: the readiness field a
// child names its device with, and the states the supervisor shows (D-Bus SwapState,
// mlockctl, the state file).
#pragma once

#include <optional>
#include <string_view>

namespace duende::supervisor {

// The sd_notify field a child names the swap device it serves with, sent with READY=1
// ("X_DUENDE_SWAP_DEVICE=/dev/loop7"), as ramswap does. For a child whose "swap" config
// has no "device". examples/ramswap/ready_report.hpp spells the same name.
inline constexpr std::string_view kSwapDeviceField = "X_DUENDE_SWAP_DEVICE";

// The swap of a child:
//   off           not active (or no swap configured)
//   activating    mkswap / swapon running
//   on            active (listed in /proc/swaps); after a swapoff that failed (a refused
//                 stop) SwapError says why it is still on
//   deactivating  swapoff running (before a stop)
//   failed        the last mkswap or swapon failed (SwapError says why), or the backend
//                 died with the swap on (nobody serves it now)
enum class SwapState { Off, Activating, On, Deactivating, Failed };

const char* to_string(SwapState state);
std::optional<SwapState> parse_swap_state(std::string_view text);

}  // namespace duende::supervisor
