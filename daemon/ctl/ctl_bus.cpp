#include "ctl/ctl_bus.hpp"

#include <poll.h>
#include <systemd/sd-bus.h>

#include <algorithm>
#include <cstdlib>
#include <initializer_list>

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

// The answer to one call: its reply or its D-Bus error.
class Answer {
 public:
  bool answered() const { return reply_ || error_; }
  const sdbus::Error* error() const { return error_ ? &*error_ : nullptr; }
  // The reply; the D-Bus error as sdbus::Error.
  sdbus::MethodReply& reply() {
    if (error_) throw *error_;
    return *reply_;
  }
  // The call made now, waiting for its answer.
  static Answer of(sdbus::IProxy& proxy, const sdbus::MethodCall& call) {
    Answer a;
    try {
      a.reply_ = proxy.callMethod(call, kReadTimeoutUs);
    } catch (const sdbus::Error& e) {
      a.error_ = e;
    }
    return a;
  }

 protected:
  std::optional<sdbus::MethodReply> reply_;
  std::optional<sdbus::Error> error_;
};

// One call sent without waiting for its answer: the connection queues it behind the calls
// sent before it, so that calls that do not depend on each other share one round trip.
// Answered by wait_for().
class Pending : public Answer {
 public:
  Pending(sdbus::IProxy& proxy, const sdbus::MethodCall& call, std::uint64_t timeout_us)
      : call_(proxy.callMethod(
            call,
            [this](sdbus::MethodReply& reply, const sdbus::Error* error) {
              if (error)
                error_ = *error;
              else
                reply_ = reply;
            },
            timeout_us)) {}
  Pending(const Pending&) = delete;
  Pending& operator=(const Pending&) = delete;

 private:
  sdbus::PendingAsyncCall call_;
};

// Processes the connection until every call is answered (each has its own timeout, which
// the connection enforces). Never from inside a callback of the connection (the watch's):
// its processing does not nest.
void wait_for(sdbus::IConnection& connection, std::initializer_list<const Pending*> calls) {
  const auto all_answered = [&] {
    return std::all_of(calls.begin(), calls.end(), [](const Pending* p) { return p->answered(); });
  };
  while (!all_answered()) {
    if (connection.processPendingRequest()) continue;
    const auto poll_data = connection.getEventLoopPollData();
    pollfd fd{poll_data.fd, poll_data.events, 0};
    (void)::poll(&fd, 1, poll_data.getPollTimeout());
  }
}

// The children from the answer to ListChildProperties; from GetManagedObjects where the
// daemon has no such method (an older one, or a bus policy that does not let it through
// yet) or rows of another shape (a newer one).
std::vector<CtlChild> children_from(sdbus::IProxy& manager, Answer& rows) {
  if (const sdbus::Error* e = rows.error()) {
    if (e->getName() != kUnknownMethod && e->getName() != kErrorAccessDenied) throw *e;
  } else if (auto children = children_from_rows(rows.reply())) {
    return std::move(*children);
  }
  auto reply = manager.callMethod(
      manager.createMethodCall("org.freedesktop.DBus.ObjectManager", "GetManagedObjects"),
      kReadTimeoutUs);
  return children_from_managed_objects(reply);
}

void sort_children(CtlSnapshot& s) {
  std::sort(s.children.begin(), s.children.end(),
            [](const CtlChild& a, const CtlChild& b) { return a.name < b.name; });
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
  auto manager = sdbus::createProxy(connection, destination, kManagerPath);
  Answer rows =
      Answer::of(*manager, manager->createMethodCall(kManagerInterface, "ListChildProperties"));
  s.children = children_from(*manager, rows);
  sort_children(s);
  return s;
}

// Four round trips on a new connection (five, call by call): the authentication, the
// bus's Hello, GetNameOwner, then GetAll of the manager and ListChildProperties, sent
// together to the owner.
CtlSnapshot read_running_snapshot(sdbus::IConnection& connection) {
  const std::string owner = running_owner(connection);
  auto manager = sdbus::createProxy(connection, owner, kManagerPath);
  auto get_all = manager->createMethodCall("org.freedesktop.DBus.Properties", "GetAll");
  get_all << std::string(kManagerInterface);
  Pending properties(*manager, get_all, kReadTimeoutUs);
  Pending rows(*manager, manager->createMethodCall(kManagerInterface, "ListChildProperties"),
               kReadTimeoutUs);
  wait_for(connection, {&properties, &rows});
  CtlSnapshot s;
  static_cast<ManagerProperties&>(s) = manager_from_reply(properties.reply(), {});
  s.children = children_from(*manager, rows);
  sort_children(s);
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
