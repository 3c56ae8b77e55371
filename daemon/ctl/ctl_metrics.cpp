// `mlockctl metrics`: the Prometheus text exposition format (declared in ctl_format.hpp).
#include <string>

#include "ctl/ctl_format.hpp"
#include "ctl/ctl_swap.hpp"

namespace duende::supervisor {

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
       "1 when the child failed, or must be locked and runs unlocked or with pages in swap, "
       "or must be an I/O flusher and is not: alert on this.",
       [](const CtlChild& c) -> std::uint64_t { return in_trouble(c); }},
      {"mlock_supervisor_child_locked_bytes", "gauge", "VmLck of the child.",
       [](const CtlChild& c) { return c.locked_bytes; }},
      {"mlock_supervisor_child_swapped_bytes", "gauge",
       "Bytes of the child in swap: VmSwap plus shared memory in swap.",
       [](const CtlChild& c) { return c.swapped_bytes; }},
      {"mlock_supervisor_child_resident_bytes", "gauge", "VmRSS of the child.",
       [](const CtlChild& c) { return c.resident_bytes; }},
      {"mlock_supervisor_child_resident_unlocked_bytes", "gauge",
       "Resident memory of the child's unlocked mappings (smaps Rss), at the last full check.",
       [](const CtlChild& c) { return c.resident_unlocked_bytes; }},
      {"mlock_supervisor_child_swapped_shmem_bytes", "gauge",
       "Shared memory of the child in swap (smaps Swap:, which VmSwap misses); "
       "also counted in mlock_supervisor_child_swapped_bytes.",
       [](const CtlChild& c) { return c.swapped_shmem_bytes; }},
      {"mlock_supervisor_child_oom_kills_total", "counter",
       "Processes of the child's cgroups ended by the OOM killer (memory.events oom_kill).",
       [](const CtlChild& c) -> std::uint64_t { return c.oom_kills; }},
      {"mlock_supervisor_child_restarts_total", "counter", "Automatic restarts of the child.",
       [](const CtlChild& c) -> std::uint64_t { return c.restarts; }},
      {"mlock_supervisor_child_processes", "gauge",
       "Processes in the child's tree (its cgroup), the main one included.",
       [](const CtlChild& c) -> std::uint64_t { return c.processes.size(); }},
      {"mlock_supervisor_child_unlocked_processes", "gauge",
       "Processes of the child's tree that run unlocked although the child must be locked.",
       [](const CtlChild& c) -> std::uint64_t { return c.unlocked_processes; }},
  };
  for (const Gauge& g : kGauges) {
    family(out, g.name, g.type, g.help);
    for (const auto& c : s.children) sample(out, g.name, child_label(c), g.value(c));
  }
  // Only where they mean something: a child with a limit; a child whose threads were read.
  family(out, "mlock_supervisor_child_memlock_headroom_bytes", "gauge",
         "RLIMIT_MEMLOCK minus VmLck of a child without CAP_IPC_LOCK (none: no limit applies).");
  for (const auto& c : s.children)
    if (c.memlock_headroom_bytes != kNoMemlockHeadroom)
      sample(out, "mlock_supervisor_child_memlock_headroom_bytes", child_label(c),
             c.memlock_headroom_bytes);
  family(out, "mlock_supervisor_child_io_flusher", "gauge",
         "1 when every thread of the child carries PF_MEMALLOC_NOIO|PF_LOCAL_THROTTLE "
         "(PR_SET_IO_FLUSHER), 0 when some lacks them (none: not read yet).");
  for (const auto& c : s.children)
    if (!c.io_flusher.empty())
      sample(out, "mlock_supervisor_child_io_flusher", child_label(c),
             c.io_flusher == kIoFlusherYes ? 1 : 0);
  family(out, "mlock_supervisor_child_state", "gauge",
         "The child's state (1 for the current one).");
  for (const auto& c : s.children)
    for (ChildState state : kChildStates)
      sample(out, "mlock_supervisor_child_state",
             child_label(c) + ",state=\"" + to_string(state) + "\"",
             c.state == to_string(state) ? 1 : 0);
  swap_metrics(out, s);
  return out;
}

}  // namespace duende::supervisor
