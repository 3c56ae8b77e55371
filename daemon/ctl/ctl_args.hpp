// mlockctl's command line, parsed and checked before anything touches the bus, so that a
// usage error (exit 64) is one whatever the state of the machine.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace duende::supervisor {

struct CtlArgs {
  std::string command = "status";  // no command: status
  std::vector<std::string> names;  // its operands (child names; help: a command)
  bool json = false;
  bool force = false;     // stop
  bool no_block = false;  // start, stop, restart, reload
  std::chrono::milliseconds timeout{90'000};
  std::vector<std::string> properties;  // show -p
  bool value_only = false;              // show --value
  std::optional<unsigned> lines;        // logs -n
  bool follow = false;                  // logs -f
  std::optional<int> main_pid;          // reload --main-pid
  bool help = false;                    // --help: the command's help (or the global one)
  bool version = false;                 // -V, --version
};

// Options may stand anywhere (child names never start with '-'). Throws UsageError for an
// unknown command or option, a missing or stray operand, an option the command does not
// take, or --json where the output is not JSON (metrics, logs).
CtlArgs parse_args(const std::vector<std::string>& argv);

}  // namespace duende::supervisor
