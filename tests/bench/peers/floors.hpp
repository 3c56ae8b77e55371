// The floors, measured in the same run as the figures they bound:
//  - own VmLck: link-floor (link_floor.cpp), a program linking what the daemon links that
//    does nothing but mlockall(): what any locked program with these libraries pins;
//  - monitor CPU: one pass of open+read+close of /proc/PID/status over every child, the
//    least a once-a-second verification of N children can cost, as ms of CPU a second.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "proc_reader.hpp"

namespace duende::peers {

// Runs `program` (link-floor) and parses its "VmLck N VmRSS N Threads N" line (kB).
std::optional<StatusFigures> measure_link_floor(const std::string& program,
                                                const std::string& scratch_file);
// Parses link-floor's output line.
std::optional<StatusFigures> parse_link_floor(const std::string& text);

// CPU time (thread CPU clock, ms) of one pass over `pids` once a second, median of
// `passes` passes: each pass follows a 1 s sleep, as the supervisor's round follows its
// wait, so the wake-up and the caches gone cold are in the floor as they are in the
// supervisor's figure (back-to-back passes in a warm loop cost a third of that or less).
double proc_pass_cpu_ms(const std::vector<pid_t>& pids, int passes);

}  // namespace duende::peers
