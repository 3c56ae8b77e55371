#include "ctl/ctl_show.hpp"

#include <algorithm>
#include <map>

#include "ctl/ctl_exit_codes.hpp"

namespace duende::supervisor {
namespace {

std::string text(const std::string& s) { return s; }
std::string text(bool b) { return b ? "yes" : "no"; }
std::string text(std::uint32_t n) { return std::to_string(n); }
std::string text(std::int32_t n) { return std::to_string(n); }
std::string text(std::uint64_t n) { return std::to_string(n); }
std::string text(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}
std::string text(const std::vector<TreeProcess>& processes) {
  std::string out;
  for (const auto& p : processes)
    out += (out.empty() ? "" : "; ") + std::to_string(p.pid) + " " + p.comm + " " + text(p.locked) +
           " " + std::to_string(p.locked_bytes) + " " + std::to_string(p.swapped_bytes);
  return out;
}

// Every (name, value) of `object`, in table order.
template <class Props, class ForEach>
std::vector<std::pair<std::string, std::string>> entries(const Props& object, ForEach for_each) {
  std::vector<std::pair<std::string, std::string>> out;
  for_each([&](const char* name, auto member) { out.emplace_back(name, text(object.*member)); });
  return out;
}

std::string render(const std::vector<std::pair<std::string, std::string>>& all,
                   const ShowOptions& options) {
  std::string out;
  const auto line = [&](const std::pair<std::string, std::string>& e) {
    out += (options.value_only ? "" : e.first + "=") + e.second + "\n";
  };
  if (options.picked.empty()) {
    for (const auto& e : all) line(e);
    return out;
  }
  for (const auto& name : options.picked) {
    const auto it =
        std::find_if(all.begin(), all.end(), [&](const auto& e) { return e.first == name; });
    if (it == all.end())
      throw UsageError("no property \"" + name + "\" (see mlockctl show --help)");
    line(*it);
  }
  return out;
}

template <class Props, class ForEach>
std::vector<std::string> names(ForEach for_each) {
  std::vector<std::string> out;
  for_each([&](const char* name, auto) { out.push_back(name); });
  return out;
}

}  // namespace

std::string format_show(const ChildProperties& child, const ShowOptions& options) {
  return render(entries(child, [](auto&& f) { for_each_child_property(f); }), options);
}

std::string format_show(const ManagerProperties& manager, const ShowOptions& options) {
  return render(entries(manager, [](auto&& f) { for_each_manager_property(f); }), options);
}

std::vector<std::pair<std::string, std::string>> show_entries(const ChildProperties& child) {
  return entries(child, [](auto&& f) { for_each_child_property(f); });
}

std::vector<std::pair<std::string, std::string>> show_entries(const ManagerProperties& manager) {
  return entries(manager, [](auto&& f) { for_each_manager_property(f); });
}

std::vector<std::string> child_property_names() {
  return names<ChildProperties>([](auto&& f) { for_each_child_property(f); });
}

std::vector<std::string> manager_property_names() {
  return names<ManagerProperties>([](auto&& f) { for_each_manager_property(f); });
}

}  // namespace duende::supervisor
