// `mlockctl logs NAME`: the child's output from the journal, through journalctl.
#pragma once

#include <string>
#include <vector>

#include "ctl/ctl_args.hpp"

namespace duende::supervisor {

// The journalctl command line for `args` (logs NAME [-n N] [-f]): the child's stdout and
// stderr, which the supervisor hands to journald under SYSLOG_IDENTIFIER=NAME, in
// mlock-supervisor.service.
std::vector<std::string> journalctl_argv(const CtlArgs& args);

// Replaces mlockctl with journalctl (found in PATH); returns only when it cannot:
// CtlError(kCtlNoBus, "journalctl not found …") for a missing one.
[[noreturn]] void exec_journalctl(const CtlArgs& args);

}  // namespace duende::supervisor
