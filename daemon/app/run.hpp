// The daemon's whole life, callable without starting a process from main(). Neither
// function decides an exit code: each returns what happened, and main() maps it.
#pragma once

#include <string>
#include <vector>

#include "app/cli_options.hpp"
#include "config/config.hpp"
#include "duende/result.hpp"

namespace duende::supervisor {

// Why the supervisor could not run.
struct RunError {
  enum class Kind {
    Config,          // the configuration is invalid (every problem was logged)
    Lock,            // self.mlock is required and mlockall() failed (the library's message)
    Os,              // a start-up resource was refused: runtime directory, notify socket, epoll,
                     // signalfd, timerfd (EMFILE, ENOMEM, EACCES, …)
    AlreadyRunning,  // another supervisor holds the runtime directory's lock
  };
  Kind kind;
  std::string message;  // one line, for the log
};

// What --check-config found in a valid configuration.
struct ConfigSummary {
  std::size_t children = 0;
  std::vector<std::string> start_order;
  // The shim children with "preload": true get; "" when no child has it.
  std::string preload_shim;
  // "configuration OK: 3 child(ren); start order: a, b, c", then "; preload shim: PATH"
  // when preload_shim is set
  std::string to_string() const;
};

// Loads and validates the configuration named by `options`, exactly as run() would.
// Success: a summary. Failure: every problem.
duende::mlock::Result<ConfigSummary, std::vector<ConfigProblem>> check_config(
    const Options& options);

// Loads the configuration, locks the supervisor, starts and supervises the children until
// SIGTERM/SIGINT has stopped them all. Start-up failures come back as a RunError (already
// logged). Throws only on a failure of the loop itself after start-up (epoll_wait), which
// main() reports as an internal error.
duende::mlock::Result<void, RunError> run(const Options& options);

}  // namespace duende::supervisor
