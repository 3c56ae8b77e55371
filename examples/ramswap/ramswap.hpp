// ramswap's life: lock, mount, attach, announce, serve, and (only once no swap is on the
// device) detach and unmount. main() turns the outcome into an exit code.
#pragma once

#include <string>

#include "duende/result.hpp"
#include "options.hpp"

namespace ramswap {

struct Failure {
  enum class Kind {
    Lock,   // the memory lock failed (the library's message, with its fix)
    Start,  // anything else before READY: mapping, /dev/fuse, mount, loop device
    Lost,   // the file system was unmounted from outside while serving
  };
  Kind kind;
  std::string message;  // one line
};

// Runs ramswap with `options` until a stop signal arrives while no swap is on its device.
// Everything set up is undone on every return, the loop device before the mount. Success:
// stopped cleanly. Single-threaded, except for a short-lived thread while the loop device
// is attached and detached (see BackgroundJob).
duende::mlock::Result<void, Failure> run(const Options& options);

}  // namespace ramswap
