// libduende-mlock-preload.so: locks an unmodified program's memory from a constructor.
//
//   LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libduende-mlock-preload.so some-daemon
//
// Configured by the DUENDE_MLOCK_* variables (see <duende/mlock.hpp> and the README).
// Exits 78 (EX_CONFIG) on an invalid variable and 71 (EX_OSERR) when a required lock
// fails, each after one line on stderr: a swap-critical program that runs unlocked is the
// failure this exists to prevent, so it must not start quietly.
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "duende/mlock.hpp"

namespace {

constexpr int kExitConfig = 78;
constexpr int kExitOsErr = 71;

const char* program_name() {
  return program_invocation_short_name ? program_invocation_short_name : "?";
}

// Runs before main(): earlier than any thread the program might start.
__attribute__((constructor)) void duende_mlock_preload_init() {
  const auto config = duende::mlock::config_from_environment();
  if (!config) {
    std::fprintf(stderr, "libduende-mlock-preload: %s: %s\n", program_name(),
                 config.error().c_str());
    _exit(kExitConfig);
  }
  const auto status = duende::mlock::lock_with_config(*config);
  // DUENDE_MLOCK_REPORT stays set: a wrapper that exec()s the real program ("sh -c 'exec
  // server'") keeps its pid, loses its lock in execve(), and must report again from the
  // new image. Helpers the child starts report too; the supervisor ignores pids that are
  // not its children.
  if (!status) {
    std::fprintf(stderr, "libduende-mlock-preload: %s: %s\n", program_name(),
                 status.error().message().c_str());
    _exit(kExitOsErr);
  }
}

}  // namespace
