#include "api/child_state.hpp"

#include <array>
#include <utility>

namespace duende::supervisor {
namespace {

constexpr std::array<std::pair<ChildState, const char*>, 7> kChildStates{{
    {ChildState::Starting, "starting"},
    {ChildState::Running, "running"},
    {ChildState::Backoff, "backoff"},
    {ChildState::Stopping, "stopping"},
    {ChildState::Stopped, "stopped"},
    {ChildState::Failed, "failed"},
    {ChildState::Exited, "exited"},
}};

}  // namespace

const char* to_string(ChildState state) {
  for (const auto& [s, name] : kChildStates)
    if (s == state) return name;
  return "unknown";
}

std::optional<ChildState> parse_child_state(std::string_view text) {
  for (const auto& [s, name] : kChildStates)
    if (text == name) return s;
  return std::nullopt;
}

const char* to_string(ManagerState state) {
  switch (state) {
    case ManagerState::Starting:
      return "starting";
    case ManagerState::Running:
      return "running";
    case ManagerState::Degraded:
      return "degraded";
    case ManagerState::Reloading:
      return "reloading";
    case ManagerState::Stopping:
      return "stopping";
  }
  return "unknown";
}

bool in_trouble(const TroubleFacts& f) {
  if (f.state == ChildState::Failed) return true;
  return f.must_be_locked && f.state == ChildState::Running &&
         (f.locked_bytes == 0 || f.swapped_bytes > 0);
}

}  // namespace duende::supervisor
