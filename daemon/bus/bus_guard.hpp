// What every D-Bus handler of the daemon wraps itself in (bus_objects.cpp, bus_actions.cpp).
//
// sdbus-c++ 1.2.0 breaks a connection for good when a handler throws anything but
// sdbus::Error, so every handler runs its body through guarded().
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <exception>
#include <string>

#include "api/bus_names.hpp"
#include "os/log.hpp"

namespace duende::supervisor {

// Runs `body`, letting sdbus::Error through and turning anything else into a D-Bus error
// (org.freedesktop.DBus.Error.Failed, logged).
template <class F>
auto guarded(const char* what, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const sdbus::Error&) {
    throw;
  } catch (const std::exception& e) {
    log_error(std::string("D-Bus ") + what + ": " + e.what());
    throw sdbus::Error(kErrorFailed, std::string(what) + ": " + e.what());
  } catch (...) {
    throw sdbus::Error(kErrorFailed, std::string(what) + ": internal error");
  }
}

// InvalidArgs for an empty child name.
inline void check_name(const std::string& name) {
  if (name.empty()) throw sdbus::Error(kErrorInvalidArgs, "empty child name");
}

}  // namespace duende::supervisor
