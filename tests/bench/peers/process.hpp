// Starting and ending the benchmark's processes. Everything is started with posix_spawn
// (vfork-style: the cost of starting a status client is the client's, not the benchmark's
// memory), with an explicit environment, signals reset to their defaults. The benchmark is
// its processes' subreaper: what a peer leaves behind when it exits comes back to it, is
// reaped, and is found and killed by pid, never by name.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace duende::peers {

using Clock = std::chrono::steady_clock;

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] absolute
  std::vector<std::string> env;   // NAME=VALUE, the whole environment
  std::string cwd;                // "" = the benchmark's
  int out_fd = -1, err_fd = -1;   // -1 = /dev/null
};

// The new process's pid; throws std::runtime_error when it cannot be started.
pid_t spawn(const SpawnOptions& options);

// Runs to completion: exit status (-N when killed by signal N) and the wall time from
// spawn to reap, in ms.
struct RunResult {
  int status = -1;
  double ms = 0;
};
RunResult run(const SpawnOptions& options);

// A process named by pid and start time, so that a recycled pid is never signalled.
struct ProcessId {
  pid_t pid = 0;
  std::uint64_t start = 0;
};
ProcessId identify(pid_t pid);
// True while the very process `id` exists and is not a zombie.
bool alive(const ProcessId& id);

// Reaps every exited child of the benchmark (its own and orphans it adopted) without
// waiting; call between measurements, never while run() waits.
void reap_exited();

// Sends `signo` to `first`, waits up to `grace` for every process of `all` to be gone,
// then SIGKILLs each one still there (by pid, after checking its identity) and waits for
// them; true when none is left.
bool stop_processes(const ProcessId& first, int signo, const std::vector<ProcessId>& all,
                    std::chrono::milliseconds grace);

// SIGKILLs every process of `all` still there and waits (10 s at most) for them to be
// gone; true when none is left.
bool kill_all(const std::vector<ProcessId>& all);

// The environment every peer gets: PATH and the benchmark's socket, nothing inherited.
std::vector<std::string> base_environment(const std::string& bench_socket);

}  // namespace duende::peers
