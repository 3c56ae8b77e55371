// mlockctl's exit statuses, one table (mlockctl --help, mlockctl(1), README "mlockctl").
// LSB and systemctl where they fit (3 for status, 4 no such unit, 7 not running), sysexits
// for the rest (64 usage, as mlock-supervisor; 69 unavailable; 77 permission).
#pragma once

#include <stdexcept>
#include <string>

#include "api/exit_codes.hpp"

namespace duende::supervisor {

inline constexpr int kCtlOk = kExitOk;              // 0: done (also: already so)
inline constexpr int kCtlFailed = kExitFailure;     // 1: the action failed or timed out
inline constexpr int kCtlTrouble = kExitTrouble;    // 3: status: a child is in trouble
inline constexpr int kCtlNoSuchChild = 4;           // 4: no child of that name
inline constexpr int kCtlNotRunning = 7;            // 7: mlock-supervisor is not running
inline constexpr int kCtlUsage = kExitUsage;        // 64: bad command line
inline constexpr int kCtlNoBus = EX_UNAVAILABLE;    // 69: the system bus cannot be reached
inline constexpr int kCtlAccessDenied = EX_NOPERM;  // 77: only root may do that

// An outcome that ends mlockctl with `code`, after printing "mlockctl: what()" on stderr.
struct CtlError : std::runtime_error {
  CtlError(int exit_code, const std::string& message)
      : std::runtime_error(message), code(exit_code) {}
  int code;
};

// A command line mlockctl cannot run: exit 64, checked before anything touches the bus.
struct UsageError : CtlError {
  explicit UsageError(const std::string& message) : CtlError(kCtlUsage, message) {}
};

}  // namespace duende::supervisor
