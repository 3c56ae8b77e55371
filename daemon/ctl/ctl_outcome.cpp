#include "ctl/ctl_outcome.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "api/human_size.hpp"

namespace duende::supervisor {
namespace {

bool settled_start(const CtlChild& c) { return !c.must_be_locked || c.is_locked; }

const CtlChild* find(const CtlSnapshot& s, const std::string& name) {
  const auto it = std::find_if(s.children.begin(), s.children.end(),
                               [&](const CtlChild& c) { return c.name == name; });
  return it == s.children.end() ? nullptr : &*it;
}

std::string running_text(const CtlChild& c) {
  std::string out = c.state;
  if (c.pid) out += ", pid " + std::to_string(c.pid);
  if (c.is_locked)
    out += ", locked " + human_size(c.locked_bytes);
  else if (c.pid && c.must_be_locked)
    out += ", NOT locked";
  return out;
}

const char* verb(Action a) {
  return a == Action::Start ? "start" : a == Action::Stop ? "stop" : "restart";
}

std::string where_to_look(const std::string& name) {
  return "  see: mlockctl logs " + name + ", journalctl -u mlock-supervisor\n";
}

}  // namespace

const char* to_string(Action action) { return verb(action); }

Settle judge(Action action, const CtlChild& before, const CtlChild& now) {
  const auto state = parse_child_state(now.state);
  if (!state) return Settle::Pending;
  if (action == Action::Stop) {
    if (*state == ChildState::Stopped) return Settle::Done;
    if ((*state == ChildState::Failed || *state == ChildState::Exited) && now.pid == 0)
      return Settle::Done;
    return Settle::Pending;
  }
  // A restart is under way until another process (or the first) runs.
  const bool new_process = now.pid != 0 && (now.pid != before.pid || before.pid == 0 ||
                                            now.started_at_us != before.started_at_us);
  switch (*state) {
    case ChildState::Running:
      if (action == Action::Restart && !new_process) return Settle::Pending;
      return settled_start(now) ? Settle::Done : Settle::Pending;
    case ChildState::Starting:
    case ChildState::Stopping:
      return Settle::Pending;
    case ChildState::Stopped:
      return action == Action::Restart && !new_process ? Settle::Pending : Settle::Failed;
    case ChildState::Backoff:
    case ChildState::Failed:
    case ChildState::Exited:
      return Settle::Failed;
  }
  return Settle::Pending;
}

std::string format_action(const ActionOutcome& o, bool json) {
  const CtlChild& c = o.child;
  if (json) {
    nlohmann::ordered_json doc = {{"format", 1},
                                  {"action", verb(o.action)},
                                  {"child", o.name},
                                  {"result", o.result},
                                  {"state", c.state},
                                  {"pid", c.pid},
                                  {"last_failure", c.last_failure}};
    return doc.dump(2) + "\n";
  }
  if (o.result == "queued") return "";
  if (o.result == "already")
    return o.name + " is already " + (o.action == Action::Stop ? "stopped" : running_text(c)) +
           "\n";
  if (o.result == "done") return o.name + ": " + running_text(c) + "\n";
  std::string out = o.name + (o.result == "timeout" ? " did not " : " failed to ") +
                    verb(o.action) + (o.result == "timeout" ? " in time" : "") + " (now " +
                    running_text(c) + ")";
  if (!c.last_failure.empty()) out += ": " + c.last_failure;
  return out + "\n" + where_to_look(o.name);
}

ReloadDiff diff_children(const CtlSnapshot& before, const CtlSnapshot& after) {
  ReloadDiff d;
  for (const auto& b : before.children)
    if (!find(after, b.name)) d.removed.push_back(b.name);
  for (const auto& a : after.children) {
    const CtlChild* b = find(before, a.name);
    if (!b) {
      d.added.push_back(a.name);
      if (judge(Action::Start, a, a) == Settle::Failed) d.failed.push_back(a.name);
      continue;
    }
    const bool restarted = a.command != b->command || (b->pid != 0 && a.pid != b->pid) ||
                           (b->pid != 0 && a.started_at_us != b->started_at_us);
    (restarted ? d.restarted : d.kept).push_back(a.name);
    if (restarted && judge(Action::Start, a, a) == Settle::Failed) d.failed.push_back(a.name);
  }
  return d;
}

std::string format_reload(const ReloadDiff& d, const CtlSnapshot& after, bool json) {
  if (json) {
    nlohmann::ordered_json doc = {
        {"format", 1},          {"result", "reloaded"},     {"added", d.added},
        {"removed", d.removed}, {"restarted", d.restarted}, {"kept", d.kept},
        {"failed", d.failed}};
    return doc.dump(2) + "\n";
  }
  std::string out = "configuration reloaded: " + std::to_string(d.added.size()) + " added, " +
                    std::to_string(d.removed.size()) + " removed, " +
                    std::to_string(d.restarted.size()) + " restarted, " +
                    std::to_string(d.kept.size()) + " kept\n";
  const auto lines = [&](const char* word, const std::vector<std::string>& names) {
    for (const auto& n : names) {
      const CtlChild* c = find(after, n);
      std::string line =
          std::string("  ") + word + std::string(10 - std::string(word).size(), ' ') + n;
      if (c) line += ": " + running_text(*c);
      if (c && std::count(d.failed.begin(), d.failed.end(), n))
        line += c->last_failure.empty() ? "" : "; last failure: " + c->last_failure;
      out += line + "\n";
    }
  };
  lines("added", d.added);
  lines("removed", d.removed);
  lines("restarted", d.restarted);
  return out;
}

std::string format_reload_rejected(const std::string& problems, bool json) {
  if (!json)
    return "the new configuration is invalid; the running one is kept:\n" + problems + "\n";
  nlohmann::ordered_json lines = nlohmann::ordered_json::array();
  std::size_t start = 0;
  while (start <= problems.size()) {
    const auto end = problems.find('\n', start);
    const std::string line =
        problems.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!line.empty()) lines.push_back(line);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  nlohmann::ordered_json doc = {{"format", 1}, {"result", "rejected"}, {"problems", lines}};
  return doc.dump(2) + "\n";
}

}  // namespace duende::supervisor
