#include "dbus_probe.hpp"

#include <chrono>
#include <cstdlib>
#include <map>
#include <vector>

namespace duende::peers {
namespace {

// The public names (DESIGN.md), spelled out here as a client outside the project would.
constexpr const char* kBusName = "org.duende.MlockSupervisor1";
constexpr const char* kManagerPath = "/org/duende/MlockSupervisor1";
constexpr const char* kManagerInterface = "org.duende.MlockSupervisor1.Manager";
constexpr const char* kChildPathPrefix = "/org/duende/MlockSupervisor1/child/";
constexpr const char* kChildInterface = "org.duende.MlockSupervisor1.Child";

using Clock = std::chrono::steady_clock;
using Objects =
    std::map<sdbus::ObjectPath, std::map<std::string, std::map<std::string, sdbus::Variant>>>;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

DbusProbe::DbusProbe(const std::string& address) {
  setenv("DBUS_SYSTEM_BUS_ADDRESS", address.c_str(), 1);
  connection_ = sdbus::createSystemBusConnection();
  manager_ = sdbus::createProxy(*connection_, kBusName, kManagerPath);
}

std::optional<double> DbusProbe::managed_objects_ms() {
  try {
    auto call =
        manager_->createMethodCall("org.freedesktop.DBus.ObjectManager", "GetManagedObjects");
    const auto start = Clock::now();
    auto reply = manager_->callMethod(call);
    const double ms = ms_since(start);
    // Decoded after the clock stops: a variant per property is this client's cost, not
    // the supervisor's; a client that reads fewer properties pays less.
    Objects objects;
    reply >> objects;
    last_objects_ = objects.size();
    return ms;
  } catch (const sdbus::Error&) {
    return std::nullopt;
  }
}

std::optional<double> DbusProbe::list_child_properties_ms() {
  try {
    auto call = manager_->createMethodCall(kManagerInterface, "ListChildProperties");
    const auto start = Clock::now();
    auto reply = manager_->callMethod(call);
    return ms_since(start);
  } catch (const sdbus::Error&) {
    return std::nullopt;
  }
}

std::optional<double> DbusProbe::get_state_ms(const std::string& child) {
  try {
    // Child names here are c0…cN: nothing for sd_bus_path_encode to escape.
    auto proxy = sdbus::createProxy(*connection_, kBusName, kChildPathPrefix + child);
    sdbus::Variant state;
    const auto start = Clock::now();
    proxy->callMethod("Get")
        .onInterface("org.freedesktop.DBus.Properties")
        .withArguments(std::string(kChildInterface), std::string("State"))
        .storeResultsTo(state);
    return ms_since(start);
  } catch (const sdbus::Error&) {
    return std::nullopt;
  }
}

}  // namespace duende::peers
