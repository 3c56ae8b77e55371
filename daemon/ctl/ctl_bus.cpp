#include "ctl/ctl_bus.hpp"

#include <systemd/sd-bus.h>

#include <algorithm>
#include <cstdlib>

#include "api/bus_names.hpp"
#include "api/child_properties.hpp"
#include "ctl/ctl_exit_codes.hpp"

namespace duende::supervisor {
namespace {

constexpr auto kReadTimeout = std::chrono::seconds(25);
constexpr const char* kUnknownObject = "org.freedesktop.DBus.Error.UnknownObject";
constexpr const char* kUnknownMethod = "org.freedesktop.DBus.Error.UnknownMethod";

template <class T>
T get_or(const PropertyMap& props, const char* key, T fallback) {
  const auto it = props.find(key);
  return it != props.end() && it->second.containsValueOfType<T>() ? it->second.get<T>() : fallback;
}

// Processes: a(usbtt) on the bus.
template <>
std::vector<TreeProcess> get_or(const PropertyMap& props, const char* key,
                                std::vector<TreeProcess> fallback) {
  using Wire = std::vector<sdbus::Struct<uint32_t, std::string, bool, uint64_t, uint64_t>>;
  const auto it = props.find(key);
  if (it == props.end() || !it->second.containsValueOfType<Wire>()) return fallback;
  std::vector<TreeProcess> out;
  for (const auto& s : it->second.get<Wire>())
    out.push_back({std::get<0>(s), std::get<1>(s), std::get<2>(s), std::get<3>(s), std::get<4>(s)});
  return out;
}

// Reads every property the table names, keeping `fallback`'s value where the bus has
// none of the expected type.
template <class Props, class Visit>
Props read_properties(const PropertyMap& bus, Props fallback, Visit for_each) {
  for_each([&](const char* name, auto member) {
    using T = decltype(member_type(member));
    fallback.*member = get_or<T>(bus, name, fallback.*member);
  });
  return fallback;
}

PropertyMap get_all(sdbus::IConnection& connection, const std::string& destination,
                    const std::string& path, const char* interface) {
  auto proxy = sdbus::createProxy(connection, destination, path);
  PropertyMap all;
  proxy->callMethod("GetAll")
      .onInterface("org.freedesktop.DBus.Properties")
      .withTimeout(kReadTimeout)
      .withArguments(std::string(interface))
      .storeResultsTo(all);
  return all;
}

// The daemon's refusal ("not authorized: org.duende.MlockSupervisor1.manage", "access
// denied: polkit is not available ...") and what the user can do about it: the polkit
// action it names, or "manage" (what every action but a forced stop needs).
std::string access_denied(const std::string& message) {
  const std::string prefix = "access denied: ";
  std::string reason = message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message;
  if (reason.empty()) reason = "only root may start, stop, restart, reload or re-execute";
  const char* action =
      message.find(kPolkitForceStop) != std::string::npos ? kPolkitForceStop : kPolkitManage;
  return "access denied: " + reason + " (run as root, or ask an administrator for " + action +
         " through polkit)";
}

}  // namespace

std::unique_ptr<sdbus::IConnection> connect_system_bus() {
  try {
    return sdbus::createSystemBusConnection();
  } catch (const sdbus::Error& e) {
    throw CtlError(kCtlNoBus, "cannot connect to the system bus: " + e.getMessage());
  }
}

std::optional<Owner> bus_name_owner(sdbus::IConnection& connection) {
  auto bus = sdbus::createProxy(connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
  Owner owner;
  try {
    bus->callMethod("GetNameOwner")
        .onInterface("org.freedesktop.DBus")
        .withTimeout(std::chrono::seconds(5))
        .withArguments(std::string(kBusName))
        .storeResultsTo(owner.unique_name);
  } catch (const sdbus::Error& e) {
    if (e.getName() == kErrorNameHasNoOwner) return std::nullopt;
    throw;
  }
  try {
    bus->callMethod("GetConnectionUnixProcessID")
        .onInterface("org.freedesktop.DBus")
        .withTimeout(std::chrono::seconds(5))
        .withArguments(owner.unique_name)
        .storeResultsTo(owner.pid);
  } catch (const sdbus::Error&) {  // gone meanwhile, or a bus that does not tell: no pid
  }
  return owner;
}

std::string running_owner(sdbus::IConnection& connection) {
  const auto owner = bus_name_owner(connection);
  if (!owner) throw explain(sdbus::Error(kErrorNameHasNoOwner, ""));
  return owner->unique_name;
}

std::string child_name(const std::string& path) {
  char* name = nullptr;
  if (sd_bus_path_decode(path.c_str(), kChildPathPrefix, &name) <= 0 || !name) return path;
  std::string out(name);
  std::free(name);
  return out;
}

CtlChild child_from(const std::string& path, const PropertyMap& p, CtlChild fallback) {
  if (fallback.name.empty()) fallback.name = child_name(path);
  if (fallback.state.empty()) fallback.state = "?";
  return read_properties(p, fallback, [](auto&& f) { for_each_child_property(f); });
}

ManagerProperties manager_from(const PropertyMap& p, ManagerProperties fallback) {
  if (fallback.version.empty()) fallback.version = "?";
  if (fallback.state.empty()) fallback.state = "?";
  return read_properties(p, fallback, [](auto&& f) { for_each_manager_property(f); });
}

ManagerProperties read_manager(sdbus::IConnection& connection, const std::string& destination) {
  return manager_from(get_all(connection, destination, kManagerPath, kManagerInterface), {});
}

CtlSnapshot read_snapshot(sdbus::IConnection& connection, const std::string& destination) {
  CtlSnapshot s;
  static_cast<ManagerProperties&>(s) = read_manager(connection, destination);
  auto proxy = sdbus::createProxy(connection, destination, kManagerPath);
  std::map<sdbus::ObjectPath, std::map<std::string, PropertyMap>> objects;
  proxy->callMethod("GetManagedObjects")
      .onInterface("org.freedesktop.DBus.ObjectManager")
      .withTimeout(kReadTimeout)
      .storeResultsTo(objects);
  for (const auto& [path, interfaces] : objects) {
    const auto it = interfaces.find(kChildInterface);
    if (it != interfaces.end()) s.children.push_back(child_from(path, it->second, {}));
  }
  std::sort(s.children.begin(), s.children.end(),
            [](const CtlChild& a, const CtlChild& b) { return a.name < b.name; });
  return s;
}

CtlChild read_child(sdbus::IConnection& connection, const std::string& destination,
                    const std::string& name) {
  char* path = nullptr;
  if (sd_bus_path_encode(kChildPathPrefix, name.c_str(), &path) < 0 || !path)
    throw CtlError(kCtlFailed, "out of memory");
  const std::string object(path);
  std::free(path);
  try {
    CtlChild fallback;
    fallback.name = name;
    return child_from(object, get_all(connection, destination, object, kChildInterface), fallback);
  } catch (const sdbus::Error& e) {
    if (e.getName() == kUnknownObject || e.getName() == kUnknownMethod ||
        e.getName() == "org.freedesktop.DBus.Error.UnknownInterface")
      throw CtlError(kCtlNoSuchChild, "no child named \"" + name + "\"");
    throw;
  }
}

void call_manager(sdbus::IConnection& connection, const char* method,
                  const std::optional<std::string>& name, std::chrono::microseconds timeout) {
  auto proxy = sdbus::createProxy(connection, kBusName, kManagerPath);
  auto call = proxy->createMethodCall(kManagerInterface, method);
  if (name) call << *name;
  (void)proxy->callMethod(call, static_cast<std::uint64_t>(timeout.count()));
}

CtlError explain(const sdbus::Error& e) {
  const std::string& n = e.getName();
  if (n == kErrorServiceUnknown || n == kErrorNameHasNoOwner)
    return CtlError(kCtlNotRunning,
                    "mlock-supervisor is not running (nobody owns org.duende.MlockSupervisor1 on "
                    "the system bus; try: systemctl start mlock-supervisor)");
  if (n == kErrorAccessDenied) return CtlError(kCtlAccessDenied, access_denied(e.getMessage()));
  if (n == kErrorNoSuchChild) return CtlError(kCtlNoSuchChild, e.getMessage());
  if (n == kErrorConfigInvalid)
    return CtlError(kCtlFailed, "the new configuration is invalid; the running one is kept:\n" +
                                    e.getMessage());
  if (n == kErrorSwapBusy)
    return CtlError(kCtlFailed,
                    "refused: " + e.getMessage() +
                        "; the child keeps running (mlockctl stop --force NAME stops it anyway, "
                        "and every process with pages on that swap hangs)");
  return CtlError(kCtlFailed, e.getMessage().empty() ? n : e.getMessage());
}

}  // namespace duende::supervisor
