// The exit statuses of mlock-supervisor and mlockctl, from <sysexits.h> where one fits.
// Only the two main() functions turn outcomes into these.
#pragma once

#include <sysexits.h>

namespace duende::supervisor {

inline constexpr int kExitOk = EX_OK;              // 0
inline constexpr int kExitFailure = 1;             // mlockctl: the request failed
inline constexpr int kExitTrouble = 3;             // mlockctl status: a child is in trouble
inline constexpr int kExitUsage = EX_USAGE;        // 64: bad command line, both programs
inline constexpr int kExitSoftware = EX_SOFTWARE;  // 70: an internal error (a bug)
inline constexpr int kExitOsErr = EX_OSERR;        // 71: the OS refused: a required lock, or a
                                                   // start-up resource (epoll, sockets, …)
inline constexpr int kExitAlreadyRunning = EX_TEMPFAIL;  // 75: another supervisor holds
                                                         // the runtime directory
inline constexpr int kExitConfig = EX_CONFIG;            // 78: invalid configuration

}  // namespace duende::supervisor
