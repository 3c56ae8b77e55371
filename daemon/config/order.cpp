// Start order from the children's `after` lists, and the cycles that prevent one.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_internal.hpp"

namespace duende::supervisor::config_detail {
namespace {

using Cycle = std::vector<std::string>;

// Kahn's algorithm, always taking the smallest ready name. Children on or behind a cycle
// never become ready and are left out.
std::vector<std::string> topological_order(const Config& config) {
  std::map<std::string_view, std::size_t> unmet;  // distinct children still awaited
  std::map<std::string_view, std::vector<std::string_view>> dependents;
  for (const auto& [name, child] : config.children) {
    const std::set<std::string_view> awaited(child.after.begin(), child.after.end());
    unmet[name] = awaited.size();
    for (std::string_view other : awaited) dependents[other].push_back(name);
  }
  std::set<std::string_view> ready;
  for (const auto& [name, count] : unmet) {
    if (count == 0) ready.insert(name);
  }
  std::vector<std::string> order;
  while (!ready.empty()) {
    const std::string_view name = *ready.begin();
    ready.erase(ready.begin());
    order.emplace_back(name);
    for (std::string_view dependent : dependents[name]) {
      if (--unmet[dependent] == 0) ready.insert(dependent);
    }
  }
  return order;
}

// Depth-first search over the children left out of the order, collecting each cycle met,
// rotated to start at its smallest name so that each is reported once.
class CycleFinder {
 public:
  CycleFinder(const Config& config, std::set<std::string> stuck)
      : config_(config), stuck_(std::move(stuck)) {}

  std::set<Cycle> find() {
    for (const std::string& name : stuck_) {
      if (!visited_.contains(name)) visit(name);
    }
    return std::move(cycles_);
  }

 private:
  void visit(const std::string& name) {
    visited_.insert(name);
    path_.push_back(name);
    for (const std::string& next : config_.children.at(name).after) {
      if (!stuck_.contains(next)) continue;
      auto on_path = std::find(path_.begin(), path_.end(), next);
      if (on_path != path_.end()) {
        Cycle cycle(on_path, path_.end());
        std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
        cycles_.insert(std::move(cycle));
      } else if (!visited_.contains(next)) {
        visit(next);
      }
    }
    path_.pop_back();
  }

  const Config& config_;
  const std::set<std::string> stuck_;
  std::set<std::string> visited_;
  std::vector<std::string> path_;
  std::set<Cycle> cycles_;
};

std::string describe(const Cycle& cycle) {
  std::string text;
  for (const std::string& name : cycle) text += name + " -> ";
  return text + cycle.front();
}

}  // namespace

void order_children(Config& config, ProblemSink& sink) {
  config.start_order = topological_order(config);
  if (config.start_order.size() == config.children.size()) return;
  std::set<std::string> stuck;
  for (const auto& [name, child] : config.children) stuck.insert(name);
  for (const std::string& name : config.start_order) stuck.erase(name);
  for (const Cycle& cycle : CycleFinder(config, std::move(stuck)).find()) {
    const std::string pointer = child_pointer(child_pointer("", "children"), cycle.front());
    sink.add(child_pointer(pointer, "after"),
             "cycle in \"after\" (each waits for the next): " + describe(cycle));
  }
}

}  // namespace duende::supervisor::config_detail
