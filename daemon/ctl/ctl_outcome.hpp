// What an action (start, stop, restart, reload) came to, judged from what the bus shows
// after the call, and how mlockctl says it. Pure: tested without a daemon.
#pragma once

#include <string>
#include <vector>

#include "ctl/ctl_format.hpp"

namespace duende::supervisor {

enum class Action { Start, Stop, Restart };

// Where a child is, seen against the action asked for.
enum class Settle { Pending, Done, Failed };

// `before`: the child just before the call (a restart is done only once another process
// runs). Start and restart are done when the child runs and, if it must be locked, is
// locked; failed when it is failed, in backoff, exited, or stopped by someone else. Stop is
// done when no process is left (stopped, or failed/exited without a pid).
Settle judge(Action action, const CtlChild& before, const CtlChild& now);

// The result of one child action, for the human line and --json.
struct ActionOutcome {
  Action action = Action::Start;
  std::string name;
  std::string result;  // "done", "already", "queued" (--no-block), "failed", "timeout"
  CtlChild child;      // as last seen
};

// "swap0: running, pid 4242, locked 7.6 MiB" / "swap0 is already running (pid 4242)" /
// "helper: stopped"; for failed and timeout the lines for stderr:
// "ghost failed to start: exec …: No such file or directory" then where to look.
// "" for queued. `json`: one document {"format": 1, "action", "child", "result", "state",
// "pid", "last_failure"}.
std::string format_action(const ActionOutcome& outcome, bool json);
const char* to_string(Action action);

// What a reload changed, by name: added, removed, restarted (another process, or another
// Command), kept (the same process). `failed`: restarted or added children that did not
// settle (see judge()).
struct ReloadDiff {
  std::vector<std::string> added, removed, restarted, kept, failed;
};
ReloadDiff diff_children(const CtlSnapshot& before, const CtlSnapshot& after);

// "configuration reloaded: 1 added, 0 removed, 1 restarted, 2 kept", then a line per
// changed child ("  added     late: running, pid 4242"). `json`: {"format": 1, "result":
// "reloaded", "added": [...], ...}.
std::string format_reload(const ReloadDiff& diff, const CtlSnapshot& after, bool json);
// A rejected configuration: every problem (the daemon's message, a line each).
std::string format_reload_rejected(const std::string& problems, bool json);

}  // namespace duende::supervisor
