// What the supervisor sends on the bus, decoded into mlockctl's structures through the
// property tables of api/child_properties.hpp: GetAll and GetManagedObjects replies read
// straight from the message, and property maps (PropertiesChanged) decoded already.
//
// A reply is read field by field into the structure, with no sdbus::Variant on the way:
// sdbus-c++ 1.2.0 keeps each Variant as a message of its own (allocated, copied into, read
// back), and decoding GetManagedObjects into Variants was most of what `mlockctl status`
// cost (about 0.15 ms a child: 37 properties each).
//
// A property the table names, of the table's type, is read into its member; any other (a
// newer daemon's, one of another type) is skipped, and the member keeps its value.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/child_properties.hpp"

namespace duende::supervisor {

using PropertyMap = std::map<std::string, sdbus::Variant>;

// The child's name in a child object path; the path itself when it is not one.
std::string child_name(const std::string& path);

// From a property map. A child whose map names no Name or State takes its name from
// `path` and the state "?" (unless `fallback` has them); the manager's version and state
// are "?" when missing.
ChildProperties child_from(const std::string& path, const PropertyMap& properties,
                           ChildProperties fallback);
ManagerProperties manager_from(const PropertyMap& properties, ManagerProperties fallback);

// The same from a GetAll reply (a{sv}), read from where the message stands.
ChildProperties child_from_reply(sdbus::Message& reply, const std::string& path,
                                 ChildProperties fallback);
ManagerProperties manager_from_reply(sdbus::Message& reply, ManagerProperties fallback);

// The rows of a ListChildProperties reply (a(...): every Child property in the table's
// order); nullopt when the reply's rows are not the table's (another version's daemon).
std::optional<std::vector<ChildProperties>> children_from_rows(sdbus::Message& reply);
// The signature of one such row, without its parentheses.
const std::string& child_row_signature();

// Every object of a GetManagedObjects reply (a{oa{sa{sv}}}) that has the Child interface,
// in the reply's order.
std::vector<ChildProperties> children_from_managed_objects(sdbus::Message& reply);

}  // namespace duende::supervisor
