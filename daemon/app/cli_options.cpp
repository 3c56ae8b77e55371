#include "app/cli_options.hpp"

namespace duende::supervisor {

using duende::mlock::Unexpected;

duende::mlock::Result<Options, std::string> parse_options(const std::vector<std::string>& args) {
  Options o;
  bool dirs_given = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string value;
    const auto takes_value = [&](const std::string& name) {
      if (a == name) {
        if (i + 1 >= args.size()) return false;
        value = args[++i];
        return true;
      }
      if (a.rfind(name + "=", 0) == 0) {
        value = a.substr(name.size() + 1);
        return true;
      }
      return false;
    };
    if (a == "--help" || a == "-h")
      o.show_help = true;
    else if (a == "--version")
      o.show_version = true;
    else if (a == "--check-config")
      o.check_config = true;
    else if (takes_value("--config")) {
      o.sources.main_file = value;
      o.sources.main_file_explicit = true;
    } else if (takes_value("--config-dir")) {
      if (!dirs_given) o.sources.dropin_dirs.clear();
      dirs_given = true;
      o.sources.dropin_dirs.push_back(value);
    } else if (takes_value("--preload")) {
      o.preload_path = value;
      o.preload_given = true;
    } else if (a == "--config" || a == "--config-dir" || a == "--preload") {
      return Unexpected(a + " needs a value");
    } else {
      return Unexpected("unknown argument \"" + a + "\" (see --help)");
    }
    if (value.empty() && (a.rfind("--config", 0) == 0 || a.rfind("--preload", 0) == 0) &&
        a != "--check-config")
      return Unexpected(a + ": empty value");
  }
  return o;
}

std::string help_text() {
  return R"(Usage: mlock-supervisor [OPTION]...

Keeps swap-critical daemons (ublk or NBD servers, userspace block drivers) running and
locked in memory. The supervisor locks itself with mlockall(), starts each configured
child in "after" order with libduende-mlock-preload.so and the DUENDE_MLOCK_* variables,
verifies from /proc that every child that must be locked is (VmLck > 0, VmSwap == 0),
restarts children by policy, and reports to systemd with sd_notify (Type=notify,
STATUS=, WATCHDOG=1). It runs in the foreground and is meant to be started by systemd:

    systemctl start mlock-supervisor

Options:
  --config FILE       main configuration file
                      (default /etc/mlock-supervisor/mlock-supervisor.json; a missing
                      default file means no children)
  --config-dir DIR    drop-in directory of *.json merge patches, applied in lexical order
                      of file name; repeatable (the first directory wins for equal names);
                      replaces the default /etc/mlock-supervisor/conf.d
  --check-config      validate the configuration, print every problem, and exit
  --preload PATH      the preload shim given to children with "preload": true
                      (default )" MLOCK_PRELOAD_INSTALLED R"(; when that is
                      missing, a binary run from its build tree uses the shim built with
                      it). A missing or unreadable shim is a configuration error (78)
                      while any child has "preload": true
  --version           print the version and exit
  -h, --help          print this help and exit

Signals:
  SIGHUP              reload the configuration: removed children stop, added ones start,
                      changed ones restart, unchanged ones are left alone; an invalid
                      configuration changes nothing (every problem is logged)
  SIGTERM, SIGINT     stop every child in reverse "after" order (stop_signal, then SIGKILL
                      after stop_timeout_sec) and exit 0
  SIGUSR2             re-execute in place (as mlockctl reexec): check this binary with
                      --check-config, then execve() it with the state and every child's
                      pidfd kept; same pid, the children keep running, nothing restarts

Children outlive the supervisor: one that starts after another died (crash, SIGKILL,
watchdog) adopts the children still running, by the pidfds kept in systemd's fd store or
by pid and start time from RUNTIME_DIRECTORY/state/; see README.md, "Lifecycle".

Environment:
  RUNTIME_DIRECTORY   where the notify socket and the state live (systemd sets it from
                      RuntimeDirectory=); default /run/mlock-supervisor
  NOTIFY_SOCKET, WATCHDOG_USEC
                      set by systemd for Type=notify and WatchdogSec=

Exit status (from <sysexits.h>):
  0   stopped on request; --check-config: the configuration is valid
  64  usage error: an unknown option or a missing argument (EX_USAGE, as mlockctl)
  70  internal error (EX_SOFTWARE): a bug, please report it with the log
  71  the operating system refused (EX_OSERR): the supervisor's own required lock (the
      message says how to fix it), or a start-up resource such as the runtime directory,
      the notify socket, epoll or signalfd
  75  another mlock-supervisor runs on the same runtime directory (EX_TEMPFAIL): one
      supervisor per directory, held by a lock on RUNTIME_DIRECTORY/lock
  78  invalid configuration (EX_CONFIG); every problem is printed

Files:
  /etc/mlock-supervisor/mlock-supervisor.json
  /etc/mlock-supervisor/conf.d/*.json
  /run/mlock-supervisor/notify
  /run/mlock-supervisor/lock   held while it runs: one supervisor per runtime directory
  /run/mlock-supervisor/state/ supervisor.json, child.NAME.json: what a restarted
                               supervisor needs to adopt the children

See README.md for the configuration reference.
)";
}

}  // namespace duende::supervisor
