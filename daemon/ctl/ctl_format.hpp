// What mlockctl prints: pure formatting of a snapshot read from the bus, so every output
// format is testable without a daemon.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/child_properties.hpp"

namespace duende::supervisor {

// One child as the Child interface shows it.
using CtlChild = ChildProperties;

// The manager's properties and every child, as read in one GetAll and one
// GetManagedObjects call.
struct CtlSnapshot : ManagerProperties {
  std::vector<CtlChild> children;  // sorted by name
};

// The `mlockctl status` table: a header line about the supervisor (version, state, its
// own lock, when it started, its restarts and re-execs; a line when children run in
// process groups, not cgroups), then one row per child (NAME
// STATE PID LOCKED VMLCK VMSWAP RESTARTS IOFLUSH UP; a child's figures are the sums over its tree),
// then for each child of more than one process its processes (PID COMM LOCKED VMLCK
// VMSWAP), then a line per failure or trouble (not locked, in swap, partly unlocked, not an
// I/O flusher as asked) and per notice (under 1 MiB of memlock headroom left, processes
// the OOM killer ended), then a line
// per moment children were adopted ("adopted 2026-12-01 15:03:12: a, b").
std::string format_status(const CtlSnapshot& snapshot);

// in_trouble() as mlockctl counts it: also a child in backoff (it exited or failed to start
// and waits to be restarted), so that `mlockctl status` exits 3 while one flaps.
bool ctl_in_trouble(const CtlChild& c);

// For how long a process started at `started_us` has run at `now_us`: "45s", "3min2s",
// "2h5min", "3d4h" (one word, for the table); "-" for 0 (no process).
std::string format_uptime(std::uint64_t started_us, std::uint64_t now_us);

// The status table as of `now_us` (µs since the epoch; the UP column).
std::string format_status(const CtlSnapshot& snapshot, std::uint64_t now_us);

// A D-Bus timestamp (µs since the epoch) as local time, "2026-12-01 15:03:12"; "-" for 0.
std::string format_timestamp(std::uint64_t us);

// LastExitStatus as mlockctl shows it: the number, or "unknown" for kExitStatusUnknown.
std::string exit_status_text(std::int32_t status);

// `mlockctl list`: one "NAME STATE PID" line per child.
std::string format_list(const CtlSnapshot& snapshot);

// Everything in the snapshot as one JSON document (for --json), with "format": 1 first. Timestamps
// are µs since the epoch (0: none); last_exit_status is null when unknown (kExitStatusUnknown).
std::string format_json(const CtlSnapshot& snapshot);
// A child's processes as format_json writes them (pid, comm, locked, locked_bytes,
// swapped_bytes), for every JSON output that shows them.
nlohmann::ordered_json processes_json(const CtlChild& child);

// What `mlockctl reexec` saw: the supervisor before it asked and after the re-exec.
struct CtlReexec {
  CtlSnapshot before, after;
  std::uint32_t pid = 0;  // the supervisor's pid (the same before and after), 0 if unknown
};

// Its one line: "mlock-supervisor re-executed in place (pid 812, 0.1.0 -> 0.2.0): 3
// children kept, 3 adopted", with "; not kept: NAME..." for children that were running
// before and are not the same process now. `json`: the same as one JSON document.
std::string format_reexec(const CtlReexec& outcome, bool json);

// Prometheus text exposition format (version 0.0.4), for node_exporter's textfile
// collector. With no snapshot (daemon unreachable) only mlock_supervisor_up 0. Otherwise
// also mlock_supervisor_info{version} 1 and, per child, its figures, counters (restarts,
// lost locks, OOM kills), state, start time (0 while no process runs) and how its last
// process ended (last_exit_code or last_exit_signal, neither before an exit).
std::string format_metrics(const std::optional<CtlSnapshot>& snapshot);

// Escapes a label value: backslash, double quote and newline.
std::string escape_label(const std::string& value);

}  // namespace duende::supervisor
