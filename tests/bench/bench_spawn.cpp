// Starting a child from a locked parent: the supervisor's vfork-style spawn_process()
// against the fork()+execve() baseline. The parent holds a touched, locked heap, as a
// supervisor with many children does; fork() must copy its page tables (and every locked
// page is accounted again), while clone(CLONE_VM|CLONE_VFORK) borrows them.
#include <benchmark/benchmark.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "bench_ratio.hpp"
#include "os/spawn.hpp"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace {

using duende::supervisor::SpawnRequest;

// Maps and touches `mib` MiB once per process, and locks everything when allowed (root).
void prepare_parent(std::size_t mib) {
  static bool done = false;
  if (done) return;
  done = true;
  void* p = mmap(nullptr, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p != MAP_FAILED) std::memset(p, 1, mib << 20);
#ifndef DUENDE_SANITIZED
  if (geteuid() == 0) mlockall(MCL_CURRENT | MCL_FUTURE);
#endif
}

std::size_t heap_mib() { return duende::bench::quick() ? 8 : 256; }

void BM_SpawnProcess(benchmark::State& state) {
  prepare_parent(heap_mib());
  SpawnRequest req;
  req.argv = {"/bin/true"};
  req.env = {"PATH=/usr/bin:/bin"};
  for (auto _ : state) {
    auto child = duende::supervisor::spawn_process(req);
    if (!child) {
      state.SkipWithError(child.error().message().c_str());
      break;
    }
    siginfo_t info{};
    waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(child->pidfd), &info, WEXITED);
    close(child->pidfd);
  }
}
BENCHMARK(BM_SpawnProcess)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_ForkExecBaseline(benchmark::State& state) {
  prepare_parent(heap_mib());
  char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
  char* envp[] = {const_cast<char*>("PATH=/usr/bin:/bin"), nullptr};
  for (auto _ : state) {
    const pid_t pid = fork();
    if (pid == 0) {
      execve(argv[0], argv, envp);
      _exit(127);
    }
    waitpid(pid, nullptr, 0);
  }
}
BENCHMARK(BM_ForkExecBaseline)->Unit(benchmark::kMicrosecond)->UseRealTime();

[[maybe_unused]] const bool kCompared =
    duende::bench::compare("BM_ForkExecBaseline/real_time", "BM_SpawnProcess/real_time");

}  // namespace
