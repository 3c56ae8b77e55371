// mlockctl's side of the bus: the connection, who owns the name, reading the supervisor's
// properties and children, calling its methods, and D-Bus errors as mlockctl's outcomes.
//
// Reads never start anything: they are addressed to the unique name (":1.42") of the
// process that owns org.duende.MlockSupervisor1 now, asked of the bus daemon first
// (GetNameOwner, which never activates). A message to a unique name is never activated,
// which is what the NO_AUTO_START flag would say; sdbus-c++ 1.2.0 offers no way to set
// that flag on a call.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "ctl/ctl_decode.hpp"
#include "ctl/ctl_exit_codes.hpp"
#include "ctl/ctl_format.hpp"

namespace duende::supervisor {

// The system bus; CtlError(kCtlNoBus) when it cannot be reached.
std::unique_ptr<sdbus::IConnection> connect_system_bus();

// The process that owns the bus name now.
struct Owner {
  std::string unique_name;  // ":1.42"
  std::uint32_t pid = 0;    // 0 if the bus would not say
};
// nullopt when nobody owns the name. Throws sdbus::Error for anything else.
std::optional<Owner> bus_name_owner(sdbus::IConnection& connection);
// The owner's unique name; CtlError(kCtlNotRunning) when there is none.
std::string running_owner(sdbus::IConnection& connection);

// Everything, from `destination` (a unique name for reads, the well-known one for actions).
CtlSnapshot read_snapshot(sdbus::IConnection& connection, const std::string& destination);
ManagerProperties read_manager(sdbus::IConnection& connection, const std::string& destination);
// One child; CtlError(kCtlNoSuchChild) when there is none of that name.
CtlChild read_child(sdbus::IConnection& connection, const std::string& destination,
                    const std::string& name);

// Calls Manager.`method`(args...) on the well-known name, waiting up to `timeout`.
void call_manager(sdbus::IConnection& connection, const char* method,
                  const std::optional<std::string>& name, std::chrono::microseconds timeout);

// A D-Bus error as mlockctl's outcome: not running (7), access denied (77), no such
// child (4), refused stop, invalid configuration, anything else (1).
CtlError explain(const sdbus::Error& e);

}  // namespace duende::supervisor
