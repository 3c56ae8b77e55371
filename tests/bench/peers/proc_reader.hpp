// What the benchmark reads from /proc about the processes it measures: the status figures
// of one process, PSS, CPU time and run count (schedstat) over all of a process's threads,
// the process tree below a pid, and which processes belong to a benchmark directory (so
// that everything a peer started can be found, and stopped, by pid).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace duende::peers {

// /proc/PID/status: VmLck, VmRSS (kB) and Threads; nullopt when the process is gone.
struct StatusFigures {
  long vmlck_kb = 0, vmrss_kb = 0, threads = 0;
};
std::optional<StatusFigures> read_status(pid_t pid);

// The number of a "Key:  N ..." line of a /proc/PID/status text; nullopt without one.
std::optional<long> status_number(const std::string& text, const std::string& key);

// Pss of /proc/PID/smaps_rollup in kB, 0 when the process is gone.
long pss_kb(pid_t pid);

// Summed over /proc/PID/task/*/schedstat: time on CPU (ns) and the number of times a
// thread was put on a CPU. A sleeping process runs only when woken, so the second is the
// wakeup count (context-switch counters of /proc/PID/status are per thread, and count the
// same events).
struct Sched {
  std::uint64_t cpu_ns = 0, runs = 0;
};
std::optional<Sched> read_sched(pid_t pid);

// Field 22 of /proc/PID/stat (start time in clock ticks), 0 when gone: with the pid, the
// identity of a process, so that a recycled pid is never signalled.
std::uint64_t start_time(pid_t pid);

// `root` and every process below it (by parent pid), root first.
std::vector<pid_t> descendants(pid_t root);

// Processes whose working directory is under `dir` or whose command line mentions it:
// everything a peer run in `dir` started (the supervisors are run with their files there,
// the children work there).
std::vector<pid_t> processes_under(const std::string& dir);

// The three load averages of /proc/loadavg.
struct LoadAvg {
  double one = 0, five = 0, fifteen = 0;
};
LoadAvg read_loadavg();

std::string read_text(const std::string& path);

}  // namespace duende::peers
