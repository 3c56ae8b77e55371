// Re-exec in place, as the bus sees it: the application implements it (app/reexec.hpp);
// the D-Bus Manager's Reexec() method and ReexecFailure property go through this.
#pragma once

#include <string>

#include "duende/result.hpp"

namespace duende::supervisor {

class ReexecControl {
 public:
  // Starts a re-exec: the binary is checked (--check-config) first, then the supervisor
  // serializes its state and execve()s itself; the children keep running. Returns at once;
  // failure: why it cannot start now (one is under way, the supervisor is stopping).
  virtual mlock::Result<void, std::string> request_reexec(const std::string& who) = 0;
  // Why the last requested re-exec did not happen, "" when none failed since the last
  // request.
  virtual const std::string& reexec_failure() const = 0;

 protected:
  ~ReexecControl() = default;
};

}  // namespace duende::supervisor
