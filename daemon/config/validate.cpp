// Validation of the merged document's top level: "self", intervals, the children map.
#include <algorithm>
#include <string>
#include <string_view>

#include "config/config_internal.hpp"

namespace duende::supervisor::config_detail {
namespace {

constexpr std::size_t kMaxChildNameLength = 64;

bool is_name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool is_name_char(char c) {
  return is_name_start(c) || c == '_' || c == '.' || c == '@' || c == '-';
}

// ^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$
bool valid_child_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxChildNameLength || !is_name_start(name.front())) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), is_name_char);
}

void read_self(const ObjectReader& top, Config& config) {
  const Json* self = top.find("self");
  if (self == nullptr) return;
  if (!self->is_object()) {
    top.sink().add(top.pointer("self"), type_error("an object", *self));
    return;
  }
  const ObjectReader reader(*self, top.pointer("self"), top.sink());
  reader.reject_unknown_keys({"mlock"});
  if (const Json* mlock = reader.find("mlock")) {
    read_mlock_flags(*mlock, reader.pointer("mlock"), top.sink(), config.self_mlock);
  }
}

void read_children(const ObjectReader& top, Config& config) {
  const Json* children = top.find("children");
  if (children == nullptr) return;
  ProblemSink& sink = top.sink();
  if (!children->is_object()) {
    sink.add(top.pointer("children"),
             type_error("an object mapping child names to their settings", *children));
    return;
  }
  ChildNames names;
  for (auto it = children->begin(); it != children->end(); ++it) names.push_back(it.key());
  for (const auto& [name, value] : children->items()) {
    const std::string pointer = child_pointer(top.pointer("children"), name);
    if (!valid_child_name(name)) {
      sink.add(pointer, "invalid child name \"" + name +
                            "\": use 1 to 64 of A-Z a-z 0-9 _ . @ -, starting with a letter or "
                            "digit (names become D-Bus object paths and journal identifiers)");
    }
    ChildSpec child;
    child.name = name;
    read_child(value, pointer, names, sink, child);
    config.children.emplace(name, std::move(child));
  }
  check_swap_devices(config, top.pointer("children"), sink);
}

}  // namespace

Config read_config(const Json& document, ProblemSink& sink) {
  Config config;
  const ObjectReader top(document, "", sink);
  top.reject_unknown_keys({"self", "monitor_interval_sec", "full_check_interval_sec", "children"});
  read_self(top, config);
  top.read_seconds("monitor_interval_sec", config.monitor_interval_sec, {0.05, false, 3600});
  top.read_seconds("full_check_interval_sec", config.full_check_interval_sec, {0.05, false, 86400});
  read_children(top, config);
  order_children(config, sink);
  return config;
}

}  // namespace duende::supervisor::config_detail
