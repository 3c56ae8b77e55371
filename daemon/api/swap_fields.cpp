#include "api/swap_fields.hpp"

namespace duende::supervisor {

namespace {
constexpr SwapState kStates[] = {SwapState::Off, SwapState::Activating, SwapState::On,
                                 SwapState::Deactivating, SwapState::Failed};
}

const char* to_string(SwapState state) {
  switch (state) {
    case SwapState::Off:
      return "off";
    case SwapState::Activating:
      return "activating";
    case SwapState::On:
      return "on";
    case SwapState::Deactivating:
      return "deactivating";
    case SwapState::Failed:
      return "failed";
  }
  return "off";
}

std::optional<SwapState> parse_swap_state(std::string_view text) {
  for (const SwapState s : kStates)
    if (text == to_string(s)) return s;
  return std::nullopt;
}

}  // namespace duende::supervisor
