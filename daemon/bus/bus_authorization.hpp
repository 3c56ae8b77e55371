// Who may call a mutating method: uid 0 always; anyone else as polkit says
// (org.freedesktop.PolicyKit1, CheckAuthorization for the caller's bus name). Without
// polkitd on the bus only root may act.
//
// Everything is asynchronous, driven by the connection's own processing in the one event
// loop: the caller's uid comes from an asynchronous GetConnectionUnixUser to the bus
// driver, the verdict from an asynchronous CheckAuthorization. Nothing here waits for the
// bus driver or for polkit; a check ends when polkit answers, when its call times out, or
// when the caller leaves the bus (NameOwnerChanged, watched per check).
//
// Anyone on the system bus may send the methods (the bus policy lets them through), so
// the checks in flight are capped: each holds one outgoing call, and kMaxPending stays
// well under dbus-daemon's 128 pending replies per connection, leaving room for the
// daemon's own calls. Beyond the cap a call is refused at once.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sdbus {
class Message;
}

namespace duende::supervisor {

// The polkit actions (dbus/org.duende.MlockSupervisor1.policy).
enum class PolkitAction {
  Manage,     // org.duende.MlockSupervisor1.manage: start, stop, restart, reload, re-exec
  ForceStop,  // org.duende.MlockSupervisor1.force-stop: a stop that ignores a busy swap
};
const char* action_id(PolkitAction action);

// The outcome of one check.
struct Verdict {
  bool allowed = false;
  std::string error_name;  // a D-Bus error name when refused
  std::string message;     // why, for the caller
  std::string who;         // "D-Bus client :1.42 (uid 1000)", for the log
};

class Authorizer {
 public:
  // How long polkit gets. A non-interactive check is rule evaluation (milliseconds; a
  // rule's polkit.spawn() may take its own 10 s); an interactive one waits for a person at
  // an authentication agent. The bus driver answers GetConnectionUnixUser itself.
  static constexpr std::chrono::seconds kDriverTimeout{5};
  static constexpr std::chrono::seconds kPolkitTimeout{15};
  static constexpr std::chrono::seconds kInteractiveTimeout{120};
  static constexpr std::size_t kMaxPending = 64;

  using Done = std::function<void(const Verdict& verdict)>;

  Authorizer();
  // Abandons the checks in flight: their `done` never runs (their calls get no reply;
  // the connection is going away with this object).
  ~Authorizer();
  Authorizer(const Authorizer&) = delete;
  Authorizer& operator=(const Authorizer&) = delete;

  // Checks the sender of `call` (the method call being handled) for `action`. `done` runs
  // exactly once from the loop, unless the caller leaves the bus first (then never: there
  // is nobody to answer) or this object goes first. It runs at once, before check()
  // returns, when the check cannot start: kMaxPending checks are in flight
  // (org.freedesktop.DBus.Error.LimitsExceeded), or the call cannot be sent. Refusals are
  // org.freedesktop.DBus.Error.AccessDenied, whose message says why: polkit not on the bus,
  // not authorized, interactive authorization needed, polkit did not answer. Never throws
  // but std::bad_alloc.
  void check(const sdbus::Message& call, PolkitAction action, Done done);

  // Checks in flight.
  std::size_t pending() const { return checks_.size(); }

 private:
  struct Check;
  void finish(Check* check, Verdict verdict);
  void forget(Check* check);
  void ask_polkit(Check* check);

  std::vector<std::unique_ptr<Check>> checks_;
};

}  // namespace duende::supervisor
