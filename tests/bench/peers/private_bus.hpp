// A private dbus-daemon that behaves like the system bus (tests/dbus/system-bus.conf.in
// with the project's policy), its socket in the benchmark's directory: mlockctl and the
// in-process client reach the supervisor there, and nothing touches the host's bus.
#pragma once

#include <sys/types.h>

#include <string>

#include "process.hpp"

namespace duende::peers {

class PrivateBus {
 public:
  // Starts it in `dir` from `config_template` (@SOCKET@, @POLICY@); throws when it does not
  // listen within 10 s.
  PrivateBus(const std::string& dir, const std::string& config_template, const std::string& policy);
  ~PrivateBus();  // SIGTERM, then SIGKILL, by pid
  PrivateBus(const PrivateBus&) = delete;
  PrivateBus& operator=(const PrivateBus&) = delete;
  std::string address() const { return "unix:path=" + socket_; }

 private:
  std::string socket_;
  ProcessId id_;
};

}  // namespace duende::peers
