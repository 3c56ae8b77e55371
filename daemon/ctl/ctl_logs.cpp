#include "ctl/ctl_logs.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ctl/ctl_exit_codes.hpp"

namespace duende::supervisor {

std::vector<std::string> journalctl_argv(const CtlArgs& a) {
  // Two groups of matches joined by "+" (journalctl ORs groups, ANDs within one): the
  // child's own output, and the supervisor's entries about it. Both name the unit, so
  // that nothing outside it that happens to use the same identifier or field shows up.
  const std::string& name = a.names.at(0);
  const std::string unit = "_SYSTEMD_UNIT=mlock-supervisor.service";
  std::vector<std::string> argv = {"journalctl",
                                   unit,
                                   "SYSLOG_IDENTIFIER=" + name,
                                   "+",
                                   unit,
                                   "SYSLOG_IDENTIFIER=mlock-supervisor",
                                   "CHILD=" + name};
  if (a.lines) argv.push_back("--lines=" + std::to_string(*a.lines));
  if (a.follow) argv.push_back("--follow");
  return argv;
}

void exec_journalctl(const CtlArgs& a) {
  const std::vector<std::string> argv = journalctl_argv(a);
  std::vector<char*> raw;
  for (const auto& s : argv) raw.push_back(const_cast<char*>(s.c_str()));
  raw.push_back(nullptr);
  ::execvp(raw[0], raw.data());
  const int e = errno;
  if (e == ENOENT)
    throw CtlError(kCtlNoBus,
                   "journalctl not found (PATH): mlockctl logs reads the journal through it; "
                   "install systemd, or look at the child's output where its stdout goes");
  throw CtlError(kCtlFailed, std::string("cannot run journalctl: ") + std::strerror(e));
}

}  // namespace duende::supervisor
