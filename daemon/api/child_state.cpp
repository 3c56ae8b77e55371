#include "api/child_state.hpp"

#include <array>
#include <utility>

namespace duende::supervisor {
namespace {

constexpr std::array<std::pair<ChildState, const char*>, 7> kChildStateNames{{
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
  for (const auto& [s, name] : kChildStateNames)
    if (s == state) return name;
  return "unknown";
}

std::optional<ChildState> parse_child_state(std::string_view text) {
  for (const auto& [s, name] : kChildStateNames)
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

std::optional<ManagerState> parse_manager_state(std::string_view text) {
  for (ManagerState s : {ManagerState::Starting, ManagerState::Running, ManagerState::Degraded,
                         ManagerState::Reloading, ManagerState::Stopping})
    if (text == to_string(s)) return s;
  return std::nullopt;
}

bool in_trouble(const TroubleFacts& f) {
  if (f.state == ChildState::Failed || f.state == ChildState::Backoff || f.swap_failed) return true;
  if (f.state == ChildState::Running && f.io_flusher_missing) return true;
  return f.must_be_locked && f.state == ChildState::Running &&
         (f.locked_bytes == 0 || f.swapped_bytes > 0 || f.unlocked_mappings > 0 ||
          f.unlocked_processes > 0);
}

}  // namespace duende::supervisor
