// Pure parser for one /proc/PID/task/TID/stat line (proc(5)): the fields the I/O flusher
// check needs. No I/O: the caller reads the file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "duende/result.hpp"

namespace duende::mlock::internal {

struct TaskStat {
  std::int64_t tid = 0;     // field 1
  std::string_view comm;    // field 2 without its parentheses; points into the parsed text
  char state = '?';         // field 3, e.g. 'R', 'S', 'Z'
  std::uint32_t flags = 0;  // field 9, the kernel's task->flags (PF_*)
};

// Parses "TID (COMM) STATE PPID PGRP SESSION TTY TPGID FLAGS ...". COMM may hold anything,
// spaces and ')' included, so the fields after it are read after the line's LAST ')'.
// Fields beyond the ninth are not looked at (their number varies between kernels).
// Errors (as text): no "TID (" at the start, no ')', fewer than nine fields, a TID or
// FLAGS that is not a decimal number, FLAGS beyond 32 bits (task->flags is unsigned int).
Result<TaskStat, std::string> parse_task_stat(std::string_view line);

}  // namespace duende::mlock::internal
