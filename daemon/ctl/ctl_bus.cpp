#include "ctl/ctl_bus.hpp"

#include <systemd/sd-bus.h>

#include <algorithm>
#include <cstdlib>

#include "api/bus_names.hpp"
#include "ctl/ctl_exit_codes.hpp"

namespace duende::supervisor {
namespace {

// In µs, as sdbus-c++'s callMethod(call, timeout) takes it.
constexpr std::uint64_t kReadTimeoutUs =
    std::chrono::microseconds(std::chrono::seconds(25)).count();
constexpr const char* kUnknownObject = "org.freedesktop.DBus.Error.UnknownObject";
constexpr const char* kUnknownMethod = "org.freedesktop.DBus.Error.UnknownMethod";

sdbus::MethodReply get_all(sdbus::IConnection& connection, const std::string& destination,
                           const std::string& path, const char* interface) {
  auto proxy = sdbus::createProxy(connection, destination, path);
  auto call = proxy->createMethodCall("org.freedesktop.DBus.Properties", "GetAll");
  call << std::string(interface);
  return proxy->callMethod(call, kReadTimeoutUs);
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

std::optional<std::string> unique_owner(sdbus::IProxy& bus) {
  std::string unique_name;
  try {
    bus.callMethod("GetNameOwner")
        .onInterface("org.freedesktop.DBus")
        .withTimeout(std::chrono::seconds(5))
        .withArguments(std::string(kBusName))
        .storeResultsTo(unique_name);
  } catch (const sdbus::Error& e) {
    if (e.getName() == kErrorNameHasNoOwner) return std::nullopt;
    throw;
  }
  return unique_name;
}

std::unique_ptr<sdbus::IProxy> bus_proxy(sdbus::IConnection& connection) {
  return sdbus::createProxy(connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
}

// Every child in one ListChildProperties call; from GetManagedObjects where the daemon
// has no such method (an older one, or a bus policy that does not let it through yet) or
// rows of another shape (a newer one).
std::vector<CtlChild> read_children(sdbus::IConnection& connection,
                                    const std::string& destination) {
  auto proxy = sdbus::createProxy(connection, destination, kManagerPath);
  try {
    auto reply = proxy->callMethod(
        proxy->createMethodCall(kManagerInterface, "ListChildProperties"), kReadTimeoutUs);
    if (auto children = children_from_rows(reply)) return std::move(*children);
  } catch (const sdbus::Error& e) {
    if (e.getName() != kUnknownMethod && e.getName() != kErrorAccessDenied) throw;
  }
  auto reply = proxy->callMethod(
      proxy->createMethodCall("org.freedesktop.DBus.ObjectManager", "GetManagedObjects"),
      kReadTimeoutUs);
  return children_from_managed_objects(reply);
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
  auto bus = bus_proxy(connection);
  Owner owner;
  auto unique_name = unique_owner(*bus);
  if (!unique_name) return std::nullopt;
  owner.unique_name = std::move(*unique_name);
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

// One round trip: the pid is not asked for.
std::string running_owner(sdbus::IConnection& connection) {
  auto bus = bus_proxy(connection);
  auto unique_name = unique_owner(*bus);
  if (!unique_name) throw explain(sdbus::Error(kErrorNameHasNoOwner, ""));
  return std::move(*unique_name);
}

ManagerProperties read_manager(sdbus::IConnection& connection, const std::string& destination) {
  auto reply = get_all(connection, destination, kManagerPath, kManagerInterface);
  return manager_from_reply(reply, {});
}

CtlSnapshot read_snapshot(sdbus::IConnection& connection, const std::string& destination) {
  CtlSnapshot s;
  static_cast<ManagerProperties&>(s) = read_manager(connection, destination);
  s.children = read_children(connection, destination);
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
    auto reply = get_all(connection, destination, object, kChildInterface);
    return child_from_reply(reply, object, fallback);
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
