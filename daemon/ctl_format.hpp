// What mlockctl prints: pure formatting of a snapshot read from the bus, so every output
// format is testable without a daemon.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace duende::supervisor {

// One child as the Child interface shows it.
struct CtlChild {
  std::string name, state;
  std::uint32_t pid = 0;
  bool is_locked = false, must_be_locked = false, fully_locked = false;
  std::uint64_t locked_bytes = 0, swapped_bytes = 0, resident_bytes = 0;
  std::uint32_t restarts = 0;
  std::int32_t last_exit_status = 0;
  std::string last_failure, lock_report;
  std::vector<std::string> command;
};

// The manager and every child, as read in one GetManagedObjects call.
struct CtlSnapshot {
  std::string version, state;
  bool self_locked = false;
  std::uint64_t self_locked_bytes = 0;
  std::vector<CtlChild> children;  // sorted by name
};

// A child is in trouble when it failed, or must be locked and is running unlocked or with
// pages in swap.
bool child_in_trouble(const CtlChild& child);

// The `mlockctl status` table: a header line about the supervisor, then one row per child
// (NAME STATE PID LOCKED VMLCK VMSWAP RESTARTS), then a line per failure reason.
std::string format_status(const CtlSnapshot& snapshot);

// `mlockctl list`: one "NAME STATE PID" line per child.
std::string format_list(const CtlSnapshot& snapshot);

// Everything in the snapshot as one JSON document (for --json).
std::string format_json(const CtlSnapshot& snapshot);

// Prometheus text exposition format (version 0.0.4), for node_exporter's textfile
// collector. With no snapshot (daemon unreachable) only mlock_supervisor_up 0.
std::string format_metrics(const std::optional<CtlSnapshot>& snapshot);

// Escapes a label value: backslash, double quote and newline.
std::string escape_label(const std::string& value);

}  // namespace duende::supervisor
