// What mlockctl prints: pure formatting of a snapshot read from the bus, so every output
// format is testable without a daemon.
#pragma once

#include <cstdint>
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
