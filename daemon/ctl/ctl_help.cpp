#include "ctl/ctl_help.hpp"

#include <map>

namespace duende::supervisor {
namespace {

struct Command {
  const char* name;
  const char* synopsis;  // after "mlockctl "
  const char* summary;   // one line for the global help
  const char* details;   // the command's own help
};

const Command kCommands[] = {
    {"status", "[--json] status [NAME]...",
     "the supervisor and a table of its children; exit 3 when one is in trouble",
     "A header (version, state, the supervisor's own lock, when it started, its restarts\n"
     "and re-execs), then a table of the children: name, state, pid, locked?, VmLck, VmSwap,\n"
     "restarts, I/O flusher, since (when the running process started) and up (for how\n"
     "long); then the reason of each failure and trouble. Exit status 3 when any (named)\n"
     "child is in trouble: failed, in backoff, or must be locked and runs unlocked or with\n"
     "pages in swap. Never starts the supervisor: when it is not running, says\n"
     "\"mlock-supervisor is not running\" and exits 7.\n"},
    {"list", "[--json] list", "one \"NAME STATE PID\" line per child",
     "One \"NAME STATE PID\" line per child, sorted by name (pid 0: no process). Never starts\n"
     "the supervisor.\n"},
    {"show", "[--json] show [NAME] [-p PROP[,PROP]...] [--value]",
     "every property of a child (or, without NAME, of the supervisor) as Key=value",
     "Every D-Bus property of child NAME, or of the supervisor (the Manager) without NAME,\n"
     "one Key=value line each in the order of the interface, as systemctl show does: yes/no\n"
     "for booleans, bytes and timestamps (µs since the epoch) as plain numbers.\n"
     "  -p, --property PROP[,PROP]  only these, in this order (repeatable)\n"
     "  --value                     the values alone, without \"Key=\"\n"
     "  --json                      one JSON object {\"format\": 1, \"name\", \"properties\"}\n"
     "Never starts the supervisor.\n"},
    {"start", "[--json] start NAME [--no-block] [--timeout SEC]",
     "start a child and wait until it runs (and is locked if it must); root or polkit",
     "Starts child NAME (and clears its start limit), then waits until it runs and, when it\n"
     "must be locked, is locked; or until it failed or went into backoff: then prints its\n"
     "last failure and where to look (mlockctl logs NAME, journalctl -u mlock-supervisor)\n"
     "and exits 1. A child that already runs is left alone (\"NAME is already running\",\n"
     "exit 0). Root, or whom polkit allows.\n"
     "  --timeout SEC  wait at most SEC seconds (default 90: three times the default\n"
     "                 start_timeout_sec; give more for a child with a longer one); exit 1\n"
     "  --no-block     return once the supervisor accepted the request\n"},
    {"stop", "[--json] stop NAME [--force] [--no-block] [--timeout SEC]",
     "stop a child (its swap off first) and wait until it stopped; root or polkit",
     "Stops child NAME and waits until its process is gone; it stays stopped until started.\n"
     "A child whose swap is on has it turned off first (swapoff: waits, at most 6 min); when\n"
     "that fails (e.g. not enough memory to take the pages back) the stop is refused, the\n"
     "child keeps running, and mlockctl says why (exit 1). A stopped child is left alone\n"
     "(\"NAME is already stopped\", exit 0). Root, or whom polkit allows.\n"
     "  --force        stop it even when its swap cannot be turned off: every process with\n"
     "                 pages on that swap then hangs\n"
     "  --timeout SEC  wait at most SEC seconds for the exit once the stop was accepted\n"
     "                 (default 90)\n"
     "  --no-block     return once the supervisor accepted the request\n"},
    {"restart", "[--json] restart NAME [--no-block] [--timeout SEC]",
     "stop and start a child, and wait as start does; root or polkit",
     "Stops child NAME (its swap off first, as stop) and starts it again, then waits as\n"
     "start does until another process runs (and is locked, when it must be). Root, or\n"
     "whom polkit allows.\n"
     "  --timeout SEC, --no-block  as for start\n"},
    {"reload", "[--json] reload [--no-block] [--timeout SEC] [--main-pid PID]",
     "re-read the configuration, say what changed, wait for it; root or polkit",
     "Asks the supervisor to re-read its configuration and waits for the answer. An invalid\n"
     "configuration changes nothing: every problem is printed and the exit status is 1.\n"
     "Otherwise prints what changed (children added, removed, restarted, kept) and waits\n"
     "until the added and restarted children run, as start does (exit 1 if one fails).\n"
     "The unit's ExecReload= runs \"mlockctl reload --main-pid $MAINPID\", so that\n"
     "systemctl reload fails on an invalid configuration. Root, or whom polkit allows.\n"
     "  --main-pid PID  when the system bus cannot be reached or the supervisor is not on it\n"
     "                  yet (early boot: it supervises before the bus is up), send SIGHUP to\n"
     "                  PID instead, say so, and exit 0 (its log has the outcome). Without\n"
     "                  it, the call may start the supervisor (D-Bus activation)\n"
     "  --timeout SEC, --no-block  as for start (--no-block: no waiting for the children)\n"},
    {"reexec", "[--json] reexec",
     "re-execute the supervisor in place, children kept; root or polkit",
     "Re-executes the supervisor in place (e.g. after an upgrade of its binary): the children\n"
     "keep running and are adopted by the new image, nothing is restarted, the pid stays. The\n"
     "daemon checks the new binary with --check-config first; mlockctl waits (at most 60 s)\n"
     "until the new image answers on the bus and prints\n"
     "  mlock-supervisor re-executed in place (pid 812, 0.1.0 -> 0.2.0): 3 children kept, 3 "
     "adopted\n"
     "or, when the re-exec was refused (the running image goes on), why, with exit 1. Root\n"
     "only.\n"},
    {"watch", "[--json] watch", "print changes in words as they happen, until interrupted",
     "Prints one line per change, as it happens, until interrupted: \"NAME: running →\n"
     "stopping\", \"NAME: pid 4242\", \"NAME: lost its lock (VmLck 0 B, 12 MiB in swap)\",\n"
     "children added and removed, the supervisor going away and coming back. Unchanged\n"
     "values are not repeated; figures that move with every check (LockedBytes,\n"
     "SwappedBytes, ResidentBytes, SelfLockedBytes, SwapUsedBytes, thread counts, …) only\n"
     "when they cross zero or move by at least a quarter and 1 MiB (4 for counts) from what\n"
     "was last printed. Never starts the supervisor: it waits for it.\n"
     "  --json  one JSON object per line and event ({\"format\": 1, \"time_us\", \"event\",\n"
     "          \"name\", \"changed\"}), every change (nothing suppressed)\n"},
    {"logs", "logs NAME [-n N] [-f]",
     "the child's output and the supervisor's lines about it (journalctl)",
     "Runs journalctl for child NAME: what it wrote to stdout and stderr\n"
     "(SYSLOG_IDENTIFIER=NAME) and the supervisor's own lines about it (started, exited,\n"
     "lost its lock, failed to start: SYSLOG_IDENTIFIER=mlock-supervisor with CHILD=NAME),\n"
     "in the order they happened:\n"
     "  journalctl _SYSTEMD_UNIT=mlock-supervisor.service SYSLOG_IDENTIFIER=NAME +\n"
     "    _SYSTEMD_UNIT=mlock-supervisor.service SYSLOG_IDENTIFIER=mlock-supervisor CHILD=NAME\n"
     "Needs journalctl (exit 69 without it).\n"
     "  -n, --lines N  the last N lines (journalctl -n)\n"
     "  -f, --follow   go on printing new lines (journalctl -f)\n"},
    {"metrics", "metrics", "Prometheus text exposition format (node_exporter textfile collector)",
     "Prometheus text exposition format, for node_exporter's textfile collector, e.g. every\n"
     "minute:\n"
     "  mlockctl metrics > /var/lib/node_exporter/mlock.prom.$$ &&\n"
     "    mv /var/lib/node_exporter/mlock.prom.$$ /var/lib/node_exporter/mlock.prom\n"
     "Alert on mlock_supervisor_child_in_trouble == 1 or mlock_supervisor_up == 0. When the\n"
     "daemon is not reachable only mlock_supervisor_up 0 is printed (exit 0). Never starts\n"
     "the supervisor. --json is refused: this is the exposition format.\n"},
    {"help", "help [COMMAND]", "this help, or a command's",
     "Prints the help of COMMAND, or the global help.\n"},
};

const Command* find_command(const std::string& name) {
  for (const Command& c : kCommands)
    if (name == c.name) return &c;
  return nullptr;
}

}  // namespace

const std::vector<std::string>& command_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Command& c : kCommands) out.push_back(c.name);
    return out;
  }();
  return names;
}

std::string exit_status_table() {
  return "Exit status:\n"
         "  0   success; also a start of a running child and a stop of a stopped one\n"
         "  1   the action failed or timed out: the child failed, went into backoff or did\n"
         "      not settle within --timeout; a stop refused; a configuration rejected; a\n"
         "      re-exec refused\n"
         "  3   status: a child is in trouble (failed, backoff, must be locked and is not)\n"
         "  4   no child of that name\n"
         "  7   mlock-supervisor is not running\n"
         "  64  usage error (EX_USAGE, as mlock-supervisor)\n"
         "  69  the system bus cannot be reached, or journalctl is missing (EX_UNAVAILABLE)\n"
         "  77  permission denied: root acts, others as polkit allows (EX_NOPERM)\n";
}

std::string global_help() {
  std::string out =
      "Usage: mlockctl [OPTION]... COMMAND [ARG]...\n"
      "\n"
      "Asks mlock-supervisor, over the system bus (org.duende.MlockSupervisor1), how its\n"
      "swap-critical children are doing, and tells it what to do. No command: status.\n"
      "\n"
      "Commands:\n";
  for (const Command& c : kCommands) {
    const std::string syn = c.synopsis;
    const std::string head = "  " + (syn.rfind("[--json] ", 0) == 0 ? syn.substr(9) : syn);
    out += head + "\n      " + c.summary + "\n";
  }
  out +=
      "\n"
      "Options:\n"
      "  --json         one JSON document (watch: one per line) with \"format\": 1, for\n"
      "                 scripts (timestamps in µs since the epoch, 0 for none); refused for\n"
      "                 metrics and logs\n"
      "  --no-block     start, stop, restart, reload: do not wait for the outcome\n"
      "  --timeout SEC  start, stop, restart, reload: wait at most SEC s (default 90)\n"
      "  -h, --help     this help; after a command, that command's help\n"
      "  -V, --version  print the version and exit\n"
      "\n"
      "Reads (status, list, show, watch, metrics) never start the supervisor: they ask only\n"
      "the process that owns the name now. Actions may start it (D-Bus activation).\n"
      "\n"
      "Environment:\n"
      "  DBUS_SYSTEM_BUS_ADDRESS   the system bus to use (default: the system's)\n"
      "\n" +
      exit_status_table() + "\nSee mlockctl(1), mlock-supervisor(8).\n";
  return out;
}

std::optional<std::string> command_help(const std::string& command) {
  const Command* c = find_command(command);
  if (!c) return std::nullopt;
  return std::string("Usage: mlockctl ") + c->synopsis + "\n\n" + c->details + "\n" +
         exit_status_table();
}

}  // namespace duende::supervisor
