#include "ctl/ctl_actions.hpp"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include "api/bus_names.hpp"
#include "ctl/ctl_bus.hpp"
#include "ctl/ctl_exit_codes.hpp"
#include "ctl/ctl_outcome.hpp"

namespace duende::supervisor {
namespace {

using Clock = std::chrono::steady_clock;

// How often the outcome is looked at: a GetAll of one child, served from published state.
constexpr std::chrono::milliseconds kPoll{50};
// A stop or restart replies once the child's swap is off (the daemon gives swapoff 5 min).
constexpr std::chrono::minutes kSwapoffReply{6};

Action action_of(const std::string& command) {
  return command == "start" ? Action::Start : command == "stop" ? Action::Stop : Action::Restart;
}

const char* method_of(const CtlArgs& a) {
  if (a.command == "start") return "StartChild";
  if (a.command == "restart") return "RestartChild";
  return a.force ? "ForceStopChild" : "StopChild";
}

// Looks at the child until judge() says it is done or failed, or the deadline passes.
std::pair<std::string, CtlChild> wait_for(sdbus::IConnection& connection, Action action,
                                          const CtlChild& before, const std::string& name,
                                          Clock::time_point deadline) {
  for (;;) {
    const CtlChild now = read_child(connection, kBusName, name);
    const Settle s = judge(action, before, now);
    if (s == Settle::Done) return {"done", now};
    if (s == Settle::Failed) return {"failed", now};
    if (Clock::now() >= deadline) return {"timeout", now};
    std::this_thread::sleep_for(kPoll);
  }
}

int print(const ActionOutcome& o, bool json) {
  const bool ok = o.result == "done" || o.result == "already" || o.result == "queued";
  const std::string text = format_action(o, json);
  if (json || ok)
    std::fputs(text.c_str(), stdout);
  else
    std::fprintf(stderr, "mlockctl: %s", text.c_str());
  if (json && !ok) std::fprintf(stderr, "mlockctl: %s", format_action(o, false).c_str());
  return ok ? kCtlOk : kCtlFailed;
}

}  // namespace

int run_child_action(sdbus::IConnection& connection, const CtlArgs& a) {
  const std::string& name = a.names.at(0);
  ActionOutcome o;
  o.action = action_of(a.command);
  o.name = name;
  CtlChild before;
  try {
    before = read_child(connection, kBusName, name);
    call_manager(connection, method_of(a), name, kSwapoffReply);
  } catch (const sdbus::Error& e) {
    // Idempotent: a start of a running child, a stop of a stopped one.
    if (e.getName() != kErrorInvalidState) throw explain(e);
    const CtlChild now = read_child(connection, kBusName, name);
    const auto state = parse_child_state(now.state);
    const bool already = (o.action == Action::Start &&
                          (state == ChildState::Running || state == ChildState::Starting)) ||
                         (o.action == Action::Stop && state == ChildState::Stopped);
    if (!already) throw explain(e);
    o.result = "already";
    o.child = now;
    if (o.action == Action::Start && state == ChildState::Starting && !a.no_block) {
      auto [result, child] = wait_for(connection, o.action, now, name, Clock::now() + a.timeout);
      o.result = result == "done" ? "already" : result;
      o.child = child;
    }
    return print(o, a.json);
  }
  if (a.no_block) {
    o.result = "queued";
    o.child = read_child(connection, kBusName, name);
    return print(o, a.json);
  }
  auto [result, child] = wait_for(connection, o.action, before, name, Clock::now() + a.timeout);
  o.result = result;
  o.child = child;
  return print(o, a.json);
}

namespace {

// Whether the children that changed are where they are going: every child that was
// removed is gone, and every added or restarted one ran, failed or went into backoff.
bool settled(const CtlSnapshot& before, const CtlSnapshot& now) {
  const ReloadDiff d = diff_children(before, now);
  for (const auto& c : now.children) {
    const auto state = parse_child_state(c.state);
    // A changed child whose swap goes off first still shows its old process.
    if (state == ChildState::Stopping || c.swap_state == "deactivating") return false;
    const bool changed = std::count(d.added.begin(), d.added.end(), c.name) ||
                         std::count(d.restarted.begin(), d.restarted.end(), c.name);
    if (!changed) continue;
    const CtlChild* b = nullptr;
    for (const auto& x : before.children)
      if (x.name == c.name) b = &x;
    if (judge(b ? Action::Restart : Action::Start, b ? *b : c, c) == Settle::Pending) return false;
  }
  return true;
}

int sighup_fallback(int pid, const std::string& why) {
  if (::kill(pid, SIGHUP) != 0)
    throw CtlError(kCtlFailed, why + ", and SIGHUP to pid " + std::to_string(pid) +
                                   " failed: " + std::strerror(errno));
  std::printf("%s: sent SIGHUP to mlock-supervisor (pid %d); its log has the outcome\n",
              why.c_str(), pid);
  return kCtlOk;
}

}  // namespace

int run_reload(sdbus::IConnection* connection, const CtlArgs& a) {
  if (!connection) return sighup_fallback(*a.main_pid, "the system bus cannot be reached");
  std::string destination = kBusName;
  if (a.main_pid) {  // from systemd: never activate the unit it is reloading
    const auto owner = bus_name_owner(*connection);
    if (!owner)
      return sighup_fallback(*a.main_pid, "mlock-supervisor is not on the system bus yet");
  }
  CtlSnapshot before;
  try {
    before = read_snapshot(*connection, destination);
    call_manager(*connection, "Reload", std::nullopt, std::chrono::minutes(2));
  } catch (const sdbus::Error& e) {
    if (e.getName() != kErrorConfigInvalid) throw explain(e);
    const std::string text = format_reload_rejected(e.getMessage(), a.json);
    if (a.json) std::fputs(text.c_str(), stdout);
    std::fprintf(stderr, "mlockctl: %s", format_reload_rejected(e.getMessage(), false).c_str());
    return kCtlFailed;
  }
  CtlSnapshot now = read_snapshot(*connection, destination);
  const auto deadline = Clock::now() + a.timeout;
  bool in_time = true;
  while (!a.no_block && !settled(before, now)) {
    if (Clock::now() >= deadline) {
      in_time = false;
      break;
    }
    std::this_thread::sleep_for(kPoll);
    now = read_snapshot(*connection, destination);
  }
  const ReloadDiff d = diff_children(before, now);
  std::fputs(format_reload(d, now, a.json).c_str(), stdout);
  if (!in_time)
    std::fprintf(stderr, "mlockctl: the reloaded children did not settle within %lld s\n",
                 static_cast<long long>(a.timeout.count() / 1000));
  for (const auto& n : d.failed)
    std::fprintf(
        stderr,
        "mlockctl: %s did not start; see: mlockctl logs %s, journalctl -u mlock-supervisor\n",
        n.c_str(), n.c_str());
  return in_time && d.failed.empty() ? kCtlOk : kCtlFailed;
}

}  // namespace duende::supervisor
