#include "ctl/ctl_format.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "api/human_size.hpp"

namespace duende::supervisor {

namespace {

std::string pad(const std::string& s, std::size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

std::string locked_word(const CtlChild& c) {
  if (c.pid == 0) return "-";
  if (c.is_locked) return c.swapped_bytes > 0 ? "SWAPPED" : "yes";
  return c.must_be_locked ? "NO" : "no";
}

}  // namespace

std::string format_status(const CtlSnapshot& s) {
  std::string out = "mlock-supervisor " + s.version + ": " + s.state + "; self " +
                    (s.self_locked ? "locked, " + human_size(s.self_locked_bytes) : "NOT locked") +
                    "\n";
  std::size_t name_width = 4;
  for (const auto& c : s.children) name_width = std::max(name_width, c.name.size());
  out += pad("NAME", name_width + 1) + pad("STATE", 9) + pad("PID", 8) + pad("LOCKED", 8) +
         pad("VMLCK", 10) + pad("VMSWAP", 10) + "RESTARTS\n";
  for (const auto& c : s.children)
    out += pad(c.name, name_width + 1) + pad(c.state, 9) +
           pad(c.pid ? std::to_string(c.pid) : "-", 8) + pad(locked_word(c), 8) +
           pad(human_size(c.locked_bytes), 10) + pad(human_size(c.swapped_bytes), 10) +
           std::to_string(c.restarts) + "\n";
  for (const auto& c : s.children) {
    if (parse_child_state(c.state) == ChildState::Failed)
      out += c.name + ": failed: " + c.last_failure + "\n";
    else if (in_trouble(c) && !c.is_locked)
      out += c.name + ": must be locked but VmLck is 0\n";
    else if (in_trouble(c))
      out += c.name + ": must be locked but " + human_size(c.swapped_bytes) + " is in swap\n";
  }
  return out;
}

std::string format_list(const CtlSnapshot& s) {
  std::string out;
  for (const auto& c : s.children)
    out += c.name + " " + c.state + " " + std::to_string(c.pid) + "\n";
  return out;
}

std::string format_json(const CtlSnapshot& s) {
  nlohmann::ordered_json doc = {{"version", s.version},
                                {"state", s.state},
                                {"self_locked", s.self_locked},
                                {"self_locked_bytes", s.self_locked_bytes},
                                {"children", nlohmann::ordered_json::array()}};
  for (const auto& c : s.children)
    doc["children"].push_back({{"name", c.name},
                               {"state", c.state},
                               {"pid", c.pid},
                               {"is_locked", c.is_locked},
                               {"must_be_locked", c.must_be_locked},
                               {"fully_locked", c.fully_locked},
                               {"locked_bytes", c.locked_bytes},
                               {"swapped_bytes", c.swapped_bytes},
                               {"resident_bytes", c.resident_bytes},
                               {"restarts", c.restarts},
                               {"last_exit_status", c.last_exit_status},
                               {"last_failure", c.last_failure},
                               {"lock_report", c.lock_report},
                               {"command", c.command},
                               {"in_trouble", in_trouble(c)}});
  return doc.dump(2) + "\n";
}

std::string escape_label(const std::string& value) {
  std::string out;
  for (char ch : value) {
    if (ch == '\\')
      out += "\\\\";
    else if (ch == '"')
      out += "\\\"";
    else if (ch == '\n')
      out += "\\n";
    else
      out += ch;
  }
  return out;
}

namespace {

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void sample(std::string& out, const char* name, const std::string& labels, std::uint64_t value) {
  out += std::string(name) + (labels.empty() ? "" : "{" + labels + "}") + " " +
         std::to_string(value) + "\n";
}

std::string child_label(const CtlChild& c) { return "child=\"" + escape_label(c.name) + "\""; }

}  // namespace

std::string format_metrics(const std::optional<CtlSnapshot>& snapshot) {
  std::string out;
  family(out, "mlock_supervisor_up", "gauge",
         "Whether mlock-supervisor answered on the system bus.");
  sample(out, "mlock_supervisor_up", "", snapshot ? 1 : 0);
  if (!snapshot) return out;
  const CtlSnapshot& s = *snapshot;
  family(out, "mlock_supervisor_self_locked_bytes", "gauge", "VmLck of the supervisor itself.");
  sample(out, "mlock_supervisor_self_locked_bytes", "", s.self_locked_bytes);
  family(out, "mlock_supervisor_degraded", "gauge",
         "Whether the supervisor reports state degraded.");
  sample(out, "mlock_supervisor_degraded", "",
         parse_manager_state(s.state) == ManagerState::Degraded ? 1 : 0);

  struct Gauge {
    const char* name;
    const char* type;
    const char* help;
    std::uint64_t (*value)(const CtlChild&);
  };
  static const Gauge kGauges[] = {
      {"mlock_supervisor_child_locked", "gauge", "Whether the child's VmLck is above zero.",
       [](const CtlChild& c) -> std::uint64_t { return c.is_locked; }},
      {"mlock_supervisor_child_must_be_locked", "gauge",
       "Whether the child is required to be locked.",
       [](const CtlChild& c) -> std::uint64_t { return c.must_be_locked; }},
      {"mlock_supervisor_child_in_trouble", "gauge",
       "1 when the child failed, or must be locked and runs unlocked or with pages in swap: "
       "alert on this.",
       [](const CtlChild& c) -> std::uint64_t { return in_trouble(c); }},
      {"mlock_supervisor_child_locked_bytes", "gauge", "VmLck of the child.",
       [](const CtlChild& c) { return c.locked_bytes; }},
      {"mlock_supervisor_child_swapped_bytes", "gauge", "VmSwap of the child.",
       [](const CtlChild& c) { return c.swapped_bytes; }},
      {"mlock_supervisor_child_resident_bytes", "gauge", "VmRSS of the child.",
       [](const CtlChild& c) { return c.resident_bytes; }},
      {"mlock_supervisor_child_restarts_total", "counter", "Automatic restarts of the child.",
       [](const CtlChild& c) -> std::uint64_t { return c.restarts; }},
  };
  for (const Gauge& g : kGauges) {
    family(out, g.name, g.type, g.help);
    for (const auto& c : s.children) sample(out, g.name, child_label(c), g.value(c));
  }
  family(out, "mlock_supervisor_child_state", "gauge",
         "The child's state (1 for the current one).");
  for (const auto& c : s.children)
    for (ChildState state : kChildStates)
      sample(out, "mlock_supervisor_child_state",
             child_label(c) + ",state=\"" + to_string(state) + "\"",
             c.state == to_string(state) ? 1 : 0);
  return out;
}

}  // namespace duende::supervisor
