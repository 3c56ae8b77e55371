#include "ctl/ctl_decode.hpp"

#include <systemd/sd-bus.h>

#include <cstdlib>
#include <functional>

#include "api/bus_names.hpp"

namespace duende::supervisor {
namespace {

// Processes: a(usbtt) on the bus.
using ProcessesWire = std::vector<sdbus::Struct<uint32_t, std::string, bool, uint64_t, uint64_t>>;

template <class T>
std::string wire_signature() {
  return sdbus::signature_of<T>::str();
}
template <>
std::string wire_signature<std::vector<TreeProcess>>() {
  return sdbus::signature_of<ProcessesWire>::str();
}

template <class T>
T from_wire(const T& value) {
  return value;
}
std::vector<TreeProcess> from_wire(const ProcessesWire& wire) {
  std::vector<TreeProcess> out;
  out.reserve(wire.size());
  for (const auto& s : wire)
    out.push_back({std::get<0>(s), std::get<1>(s), std::get<2>(s), std::get<3>(s), std::get<4>(s)});
  return out;
}

template <class T>
struct Wire {
  using type = T;
};
template <>
struct Wire<std::vector<TreeProcess>> {
  using type = ProcessesWire;
};

// One entry of a table: its D-Bus name and type, and how to read the value (the message
// inside the variant) into the member, or to take it from a decoded Variant.
template <class Props>
struct Field {
  const char* name;
  std::string signature;
  std::function<void(sdbus::Message&, Props&)> read;
  std::function<void(const sdbus::Variant&, Props&)> take;
};

template <class Props, class Visit>
std::vector<Field<Props>> fields_of(Visit for_each) {
  std::vector<Field<Props>> out;
  for_each([&](const char* name, auto member) {
    using T = decltype(member_type(member));
    using W = typename Wire<T>::type;
    out.push_back({name, wire_signature<T>(),
                   [member](sdbus::Message& m, Props& p) {
                     W value{};  // operator>> appends to a vector: read into a fresh one
                     m >> value;
                     p.*member = from_wire(value);
                   },
                   [member](const sdbus::Variant& v, Props& p) {
                     if (v.containsValueOfType<W>()) p.*member = from_wire(v.get<W>());
                   }});
  });
  return out;
}

const std::vector<Field<ChildProperties>>& child_fields() {
  static const auto fields =
      fields_of<ChildProperties>([](auto&& f) { for_each_child_property(f); });
  return fields;
}

const std::vector<Field<ManagerProperties>>& manager_fields() {
  static const auto fields =
      fields_of<ManagerProperties>([](auto&& f) { for_each_manager_property(f); });
  return fields;
}

// The entry called `name`: the one after the last found first, since the daemon sends
// the properties in the table's (the XML's) order.
template <class Props>
const Field<Props>* find_field(const std::vector<Field<Props>>& fields, const std::string& name,
                               std::size_t& next) {
  if (next < fields.size() && name == fields[next].name) return &fields[next++];
  for (std::size_t i = 0; i < fields.size(); ++i)
    if (name == fields[i].name) {
      next = i + 1;
      return &fields[i];
    }
  return nullptr;
}

// An a{sv}, from where the message stands.
template <class Props>
void read_dict(sdbus::Message& m, const std::vector<Field<Props>>& fields, Props& out) {
  m.enterContainer("{sv}");
  std::size_t next = 0;
  std::string name, type, contents;
  while (m.enterDictEntry("sv")) {
    m >> name;
    m.peekType(type, contents);
    const Field<Props>* f = find_field(fields, name, next);
    if (f && contents == f->signature) {
      m.enterVariant(contents);
      f->read(m, out);
      m.exitVariant();
    } else {
      sdbus::Variant skipped;
      m >> skipped;
    }
    m.exitDictEntry();
  }
  m.clearFlags();  // the end of the array is a failed enterDictEntry()
  m.exitContainer();
}

template <class Props>
void take_map(const PropertyMap& map, const std::vector<Field<Props>>& fields, Props& out) {
  for (const auto& f : fields)
    if (const auto it = map.find(f.name); it != map.end()) f.take(it->second, out);
}

ChildProperties child_fallback(const std::string& path, ChildProperties fallback) {
  if (fallback.name.empty()) fallback.name = child_name(path);
  if (fallback.state.empty()) fallback.state = "?";
  return fallback;
}

ManagerProperties manager_fallback(ManagerProperties fallback) {
  if (fallback.version.empty()) fallback.version = "?";
  if (fallback.state.empty()) fallback.state = "?";
  return fallback;
}

}  // namespace

std::string child_name(const std::string& path) {
  char* name = nullptr;
  if (sd_bus_path_decode(path.c_str(), kChildPathPrefix, &name) <= 0 || !name) return path;
  std::string out(name);
  std::free(name);
  return out;
}

ChildProperties child_from(const std::string& path, const PropertyMap& properties,
                           ChildProperties fallback) {
  ChildProperties out = child_fallback(path, std::move(fallback));
  take_map(properties, child_fields(), out);
  return out;
}

ManagerProperties manager_from(const PropertyMap& properties, ManagerProperties fallback) {
  ManagerProperties out = manager_fallback(std::move(fallback));
  take_map(properties, manager_fields(), out);
  return out;
}

ChildProperties child_from_reply(sdbus::Message& reply, const std::string& path,
                                 ChildProperties fallback) {
  ChildProperties out = child_fallback(path, std::move(fallback));
  read_dict(reply, child_fields(), out);
  return out;
}

ManagerProperties manager_from_reply(sdbus::Message& reply, ManagerProperties fallback) {
  ManagerProperties out = manager_fallback(std::move(fallback));
  read_dict(reply, manager_fields(), out);
  return out;
}

const std::string& child_row_signature() {
  static const std::string signature = [] {
    std::string out;
    for (const auto& f : child_fields()) out += f.signature;
    return out;
  }();
  return signature;
}

std::optional<std::vector<ChildProperties>> children_from_rows(sdbus::Message& m) {
  const std::string& row = child_row_signature();
  std::string type, contents;
  m.peekType(type, contents);
  if (type != "a" || contents != "(" + row + ")") return std::nullopt;
  std::vector<ChildProperties> out;
  m.enterContainer(contents);
  while (m.enterStruct(row)) {
    ChildProperties& c = out.emplace_back();
    for (const auto& f : child_fields()) f.read(m, c);
    m.exitStruct();
  }
  m.clearFlags();
  m.exitContainer();
  return out;
}

std::vector<ChildProperties> children_from_managed_objects(sdbus::Message& m) {
  std::vector<ChildProperties> out;
  m.enterContainer("{oa{sa{sv}}}");
  while (m.enterDictEntry("oa{sa{sv}}")) {
    sdbus::ObjectPath path;
    m >> path;
    m.enterContainer("{sa{sv}}");
    std::string interface;
    while (m.enterDictEntry("sa{sv}")) {
      m >> interface;
      if (interface == kChildInterface) {
        out.push_back(child_from_reply(m, path, {}));
      } else {
        PropertyMap skipped;
        m >> skipped;
      }
      m.exitDictEntry();
    }
    m.clearFlags();
    m.exitContainer();
    m.exitDictEntry();
  }
  m.clearFlags();
  m.exitContainer();
  return out;
}

}  // namespace duende::supervisor
