#include "ctl/ctl_reexec.hpp"

#include <chrono>
#include <cstdio>
#include <thread>

#include "api/bus_names.hpp"
#include "ctl/ctl_bus.hpp"
#include "ctl/ctl_exit_codes.hpp"

namespace duende::supervisor {
namespace {

// How long `mlockctl reexec` waits for the new image, and how often it looks. The daemon
// gives the check of the binary 30 s; writing the state and execve() take milliseconds.
constexpr std::chrono::seconds kReexecDeadline{60};
constexpr std::chrono::milliseconds kReexecPoll{50};

CtlError failed(const std::string& why) { return CtlError(kCtlFailed, why); }

}  // namespace

// Asks for a re-exec, then watches, over a fresh connection each time (the daemon's
// name goes away while it executes itself), until Reexecs went up (success), ReexecFailure
// says why it did not happen, another process answers, or the deadline passes. The
// calls go to the owner's unique name: a well-known name without an owner would be
// activated.
int run_reexec(sdbus::IConnection& connection, bool json) {
  const std::optional<Owner> owner = bus_name_owner(connection);
  if (!owner) throw explain(sdbus::Error(kErrorNameHasNoOwner, ""));
  CtlReexec outcome;
  outcome.pid = owner->pid;
  outcome.before = read_snapshot(connection, owner->unique_name);
  try {
    auto proxy = sdbus::createProxy(connection, owner->unique_name, kManagerPath);
    proxy->callMethod("Reexec")
        .onInterface(kManagerInterface)
        .withTimeout(std::chrono::seconds(30));
  } catch (const sdbus::Error& e) {
    if (e.getName() == kErrorAccessDenied || e.getName() == kErrorServiceUnknown ||
        e.getName() == kErrorNameHasNoOwner)
      throw explain(e);
    throw failed(std::string("re-exec refused: ") + explain(e).what());
  }
  const auto deadline = std::chrono::steady_clock::now() + kReexecDeadline;
  std::string last_seen = "it did not answer";
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(kReexecPoll);
    try {
      auto fresh = sdbus::createSystemBusConnection();
      const std::optional<Owner> now = bus_name_owner(*fresh);
      if (!now) {
        last_seen = std::string("nobody owns ") + kBusName;
        continue;
      }
      if (outcome.pid != 0 && now->pid != 0 && now->pid != outcome.pid)
        throw failed("mlock-supervisor came back as another process (pid " +
                     std::to_string(now->pid) + ", was " + std::to_string(outcome.pid) +
                     "): it was restarted, not re-executed in place; see its log");
      const ManagerProperties props = read_manager(*fresh, now->unique_name);
      if (props.reexecs > outcome.before.reexecs) {
        outcome.after = read_snapshot(*fresh, now->unique_name);
        if (outcome.pid == 0) outcome.pid = now->pid;
        std::fputs(format_reexec(outcome, json).c_str(), stdout);
        return kCtlOk;
      }
      if (!props.reexec_failure.empty())
        throw failed("re-exec failed: " + props.reexec_failure +
                     "; the running supervisor goes on");
      last_seen = "it still runs the old image (state " + props.state + ")";
    } catch (const sdbus::Error& e) {  // between two images, or a bus away: look again
      last_seen =
          "the last look failed: " + (e.getMessage().empty() ? e.getName() : e.getMessage());
    }
  }
  throw failed("no re-exec within " + std::to_string(kReexecDeadline.count()) +
               " s (Reexecs still " + std::to_string(outcome.before.reexecs) + "; " + last_seen +
               ")");
}

}  // namespace duende::supervisor
