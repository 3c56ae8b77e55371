// mlockctl's help: the global text (mlockctl --help, mlockctl help) and one per command
// (mlockctl help CMD, mlockctl CMD --help), with the one exit-status table.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace duende::supervisor {

// The global help: usage, every command in a line, options, environment, exit status.
std::string global_help();
// The help of `command`; nullopt for a command mlockctl does not have.
std::optional<std::string> command_help(const std::string& command);
// Every command, in the order of the help (completion uses it too).
const std::vector<std::string>& command_names();
// The exit-status table, as printed at the end of every help.
std::string exit_status_table();

}  // namespace duende::supervisor
