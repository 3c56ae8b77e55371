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

// µs since the epoch as seconds with their six decimals, exactly (no double in between).
std::string seconds_text(std::uint64_t us) {
  std::string fraction = std::to_string(us % 1000000);
  fraction.insert(0, 6 - fraction.size(), '0');
  return std::to_string(us / 1000000) + "." + fraction;
}

// When the running process started, and how the last one ended: systemd's split of
// ExecMainCode (how) and ExecMainStatus (the number) becomes one gauge per "how", so a
// rule never has to decode a sign. Neither before the first exit, nor for an unknown one.
void history_metrics(std::string& out, const CtlSnapshot& s) {
  family(out, "mlock_supervisor_child_start_time_seconds", "gauge",
         "When the child's running process started, in seconds since the epoch (as "
         "process_start_time_seconds); kept across an adoption; 0 while no process runs.");
  for (const auto& c : s.children)
    out += "mlock_supervisor_child_start_time_seconds{" + child_label(c) + "} " +
           (c.started_at_us == 0 ? std::string("0") : seconds_text(c.started_at_us)) + "\n";
  family(out, "mlock_supervisor_child_last_exit_code", "gauge",
         "Exit status of the child's last process, when it exited by itself (127: its "
         "program could not be run); none before its first exit or when it was killed.");
  for (const auto& c : s.children)
    if (c.last_exit_code == kExitCodeExited)
      out += "mlock_supervisor_child_last_exit_code{" + child_label(c) + "} " +
             std::to_string(c.last_exit_status) + "\n";
  family(out, "mlock_supervisor_child_last_exit_signal", "gauge",
         "Signal that ended the child's last process (with or without a core dump); none "
         "before its first exit or when it exited by itself.");
  for (const auto& c : s.children)
    if ((c.last_exit_code == kExitCodeKilled || c.last_exit_code == kExitCodeDumped) &&
        c.last_exit_status < 0 && c.last_exit_status != kExitStatusUnknown)
      out += "mlock_supervisor_child_last_exit_signal{" + child_label(c) + "} " +
             std::to_string(-c.last_exit_status) + "\n";
}

}  // namespace

std::string format_metrics(const std::optional<CtlSnapshot>& snapshot) {
  std::string out;
  family(out, "mlock_supervisor_up", "gauge",
         "Whether mlock-supervisor answered on the system bus.");
  sample(out, "mlock_supervisor_up", "", snapshot ? 1 : 0);
  if (!snapshot) return out;
  const CtlSnapshot& s = *snapshot;
  // Prometheus' *_info convention: a constant 1 that carries the text as a label, to be
  // joined onto other series (group_left) or shown on a dashboard.
  family(out, "mlock_supervisor_info", "gauge",
         "Always 1; the version label is the running supervisor's version.");
  sample(out, "mlock_supervisor_info", "version=\"" + escape_label(s.version) + "\"", 1);
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
      {"mlock_supervisor_child_lock_lost_total", "counter",
       "Times the child lost its lock (VmLck 0, pages in swap, unlocked mappings or an "
       "unlocked process) since it was configured, across its restarts and the supervisor's.",
       [](const CtlChild& c) -> std::uint64_t { return c.lock_losses; }},
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
  history_metrics(out, s);
  swap_metrics(out, s);
  return out;
}

}  // namespace duende::supervisor
