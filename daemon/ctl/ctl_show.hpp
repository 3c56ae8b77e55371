// `mlockctl show`: every property of a child (or of the manager) as systemctl show prints a
// unit's, one "Key=value" line each, in the order of the introspection XML.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "api/child_properties.hpp"

namespace duende::supervisor {

// What to print: `picked` empty means every property; `value_only` prints the values
// without "Key=" (systemctl show --value).
struct ShowOptions {
  std::vector<std::string> picked;
  bool value_only = false;
};

// Values as systemctl spells them: booleans yes/no, numbers in decimal (bytes and µs
// timestamps unconverted), strings raw, Command its words joined by spaces, Processes
// "PID COMM LOCKED VMLCK SWAPPED" per process joined by "; ". Throws UsageError (exit 64)
// for a picked name the interface does not have.
std::string format_show(const ChildProperties& child, const ShowOptions& options);
std::string format_show(const ManagerProperties& manager, const ShowOptions& options);

// Every (Key, value) in introspection order, spelled as format_show() does.
std::vector<std::pair<std::string, std::string>> show_entries(const ChildProperties& child);
std::vector<std::pair<std::string, std::string>> show_entries(const ManagerProperties& manager);

// The property names, in introspection order (completion and help).
std::vector<std::string> child_property_names();
std::vector<std::string> manager_property_names();

}  // namespace duende::supervisor
