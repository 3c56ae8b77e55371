// `mlockctl logs NAME`: the child's output and the supervisor's lines about it, from the
// journal, through journalctl.
#pragma once

#include <string>
#include <vector>

#include "ctl/ctl_args.hpp"

namespace duende::supervisor {

// The journalctl command line for `args` (logs NAME [-n N] [-f]), interleaved by time:
// the child's stdout and stderr, which the supervisor hands to journald under
// SYSLOG_IDENTIFIER=NAME, and the supervisor's own entries about the child (native
// protocol, SYSLOG_IDENTIFIER=mlock-supervisor with CHILD=NAME: its start, exit, lost
// lock, ...); both only from mlock-supervisor.service:
//   journalctl _SYSTEMD_UNIT=mlock-supervisor.service SYSLOG_IDENTIFIER=NAME +
//              _SYSTEMD_UNIT=mlock-supervisor.service SYSLOG_IDENTIFIER=mlock-supervisor
//              CHILD=NAME [--lines=N] [--follow]
std::vector<std::string> journalctl_argv(const CtlArgs& args);

// Replaces mlockctl with journalctl (found in PATH); returns only when it cannot:
// CtlError(kCtlNoBus, "journalctl not found …") for a missing one.
[[noreturn]] void exec_journalctl(const CtlArgs& args);

}  // namespace duende::supervisor
