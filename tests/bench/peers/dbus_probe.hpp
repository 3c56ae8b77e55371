// An in-process D-Bus client of the supervisor (sdbus-c++, one connection, synchronous
// calls): times ObjectManager.GetManagedObjects, Manager.ListChildProperties (what
// `mlockctl status` calls) and Properties.Get of one child's State, what a monitoring
// agent does, without the client's start-up in the figure. A call's time ends when its
// reply has arrived; decoding the reply is the client's, outside the figure.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <memory>
#include <optional>
#include <string>

namespace duende::peers {

class DbusProbe {
 public:
  // Connects to the system-like bus at `address` (sets DBUS_SYSTEM_BUS_ADDRESS: call it
  // from the main thread, before other threads read the environment). Throws sdbus::Error.
  explicit DbusProbe(const std::string& address);
  // Wall time of one call in ms; nullopt when it failed (the supervisor not on the bus).
  std::optional<double> managed_objects_ms();
  std::optional<double> list_child_properties_ms();
  std::optional<double> get_state_ms(const std::string& child);
  // The number of objects GetManagedObjects returned last.
  std::size_t last_object_count() const { return last_objects_; }

 private:
  std::unique_ptr<sdbus::IConnection> connection_;
  std::unique_ptr<sdbus::IProxy> manager_;
  std::size_t last_objects_ = 0;
};

}  // namespace duende::peers
