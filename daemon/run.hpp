// The daemon's whole life, callable without starting a process from main().
#pragma once

#include "cli_options.hpp"

namespace duende::supervisor {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitOsErr = 71;   // EX_OSERR: a required lock failed
inline constexpr int kExitConfig = 78;  // EX_CONFIG: invalid configuration

// Validates the configuration named by `options`, printing every problem (or a summary
// of what would run) to `stdout`/`stderr`. Returns kExitOk or kExitConfig.
int check_config(const Options& options);

// Loads the configuration, locks the supervisor, starts and supervises the children until
// SIGTERM/SIGINT. Returns the exit code; throws only on failures of the machine itself
// (epoll, signalfd), which main() turns into kExitFailure.
int run(const Options& options);

}  // namespace duende::supervisor
