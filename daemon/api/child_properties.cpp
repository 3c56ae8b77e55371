#include "api/child_properties.hpp"

#include "api/swap_fields.hpp"

namespace duende::supervisor {
namespace {

template <class Props, class Visit>
std::vector<std::string> diff(const Props& a, const Props& b, Visit for_each) {
  std::vector<std::string> names;
  for_each([&](const char* name, auto member) {
    if (!(a.*member == b.*member)) names.emplace_back(name);
  });
  return names;
}

}  // namespace

std::vector<std::string> changed_properties(const ChildProperties& a, const ChildProperties& b) {
  return diff(a, b, [](auto&& f) { for_each_child_property(f); });
}

std::vector<std::string> changed_properties(const ManagerProperties& a,
                                            const ManagerProperties& b) {
  return diff(a, b, [](auto&& f) { for_each_manager_property(f); });
}

bool in_trouble(const ChildProperties& c) {
  const auto state = parse_child_state(c.state);
  if (!state) return false;
  return in_trouble(TroubleFacts{*state, c.must_be_locked, c.is_locked ? c.locked_bytes : 0,
                                 c.swapped_bytes, c.unlocked_mappings, c.unlocked_processes,
                                 c.wants_io_flusher && c.io_flusher == kIoFlusherNo,
                                 c.swap_state == to_string(SwapState::Failed)});
}

}  // namespace duende::supervisor
