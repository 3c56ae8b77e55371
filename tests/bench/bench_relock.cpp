// Re-locking after fork() (MlockConfig::relock_after_fork()): what a forked child's
// mlockall() costs a locked parent with a touched heap of 64 and 256 MiB. Each figure is
// fork() + the child's work + waitpid() in the parent, for a child that exits at once
// (_exit) and one that execs /bin/true; the child re-locks as the library's atfork
// handler would, first thing after fork():
//   NoRelock  nothing (the baseline: the kernel's fork of a locked parent)
//   Full      mlockall(MCL_CURRENT | MCL_FUTURE): breaks copy-on-write for every page
//   Onfault   mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT): locks pages in place
//   Library   the library's own handler (lock_with_config() with relock_after_fork on)
// Ratios to NoRelock of the same size and child are printed at the end (medians of the
// repetitions). What the re-lock costs in memory is measured once per benchmark, outside
// the timed loop, in a child that re-locks and reads its own /proc: the counters
// child_private_dirty_MiB (pages it now owns alone: copy-on-write broken, so copied) and
// child_vmlck_MiB. Needs root (the parent locks beyond the 8 MiB memlock limit); a
// sanitizer build cannot lock, and skips.
#include <benchmark/benchmark.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "bench_ratio.hpp"
#include "duende/mlock.hpp"

#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

namespace {

enum class Relock { None, Full, Onfault, Library };
enum class Child { Exit, Exec };

// The parent's touched heap: one mapping at a time, kept across the calls of one size.
struct Heap {
  void* p = nullptr;
  std::size_t bytes = 0;
};
Heap g_heap;

// Locks the process (MCL_FUTURE: the heap mapped next is locked as it is touched) with
// `relock` deciding the library's handler, and maps and touches `mib` MiB. An error
// text, or empty when ready.
std::string prepare_parent(std::size_t mib, Relock relock) {
#ifdef DUENDE_SANITIZED
  return "sanitizer build: ASan intercepts mlockall() as a no-op";
#else
  if (geteuid() != 0) return "needs root to lock more than the memlock limit";
  const auto locked = duende::mlock::lock_with_config(
      duende::mlock::MlockConfig::builder().relock_after_fork(relock == Relock::Library).build());
  if (!locked) return locked.error().message();
  const std::size_t bytes = mib << 20;
  if (g_heap.bytes != bytes) {
    if (g_heap.p) munmap(g_heap.p, g_heap.bytes);
    g_heap = {};
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return "mmap failed";
    std::memset(p, 1, bytes);
    g_heap = {p, bytes};
  }
  return {};
#endif
}

// Re-locks as `relock` says in a forked child and returns its Private_Dirty and VmLck
// (bytes, from /proc/self/smaps_rollup and status), or {0, 0} when it could not tell.
std::pair<std::uint64_t, std::uint64_t> child_memory(Relock relock) {
  int fds[2];
  if (pipe(fds) != 0) return {0, 0};
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    if (relock == Relock::Full) mlockall(MCL_CURRENT | MCL_FUTURE);
    if (relock == Relock::Onfault) mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT);
    const auto kib = [](const char* file, const char* key) -> std::uint64_t {
      FILE* f = std::fopen(file, "r");
      if (!f) return 0;
      char line[256];
      std::uint64_t value = 0;
      while (std::fgets(line, sizeof line, f))
        if (std::strncmp(line, key, std::strlen(key)) == 0)
          value = std::strtoull(line + std::strlen(key), nullptr, 10);
      std::fclose(f);
      return value << 10;
    };
    const std::uint64_t figures[2] = {kib("/proc/self/smaps_rollup", "Private_Dirty:"),
                                      kib("/proc/self/status", "VmLck:")};
    const bool written = write(fds[1], figures, sizeof figures) == sizeof figures;
    _exit(written ? 0 : 1);
  }
  close(fds[1]);
  std::uint64_t figures[2] = {0, 0};
  if (pid > 0) {
    if (read(fds[0], figures, sizeof figures) != sizeof figures) figures[0] = figures[1] = 0;
    waitpid(pid, nullptr, 0);
  }
  close(fds[0]);
  return {figures[0], figures[1]};
}

void BM_Fork(benchmark::State& state, Relock relock, Child child) {
  const std::size_t mib = duende::bench::quick() ? 2 : static_cast<std::size_t>(state.range(0));
  if (const std::string why = prepare_parent(mib, relock); !why.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  const auto [private_dirty, vmlck] = child_memory(relock);
  char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
  char* envp[] = {const_cast<char*>("PATH=/usr/bin:/bin"), nullptr};
  for (auto _ : state) {
    const pid_t pid = fork();
    if (pid < 0) {
      state.SkipWithError("fork failed");
      break;
    }
    if (pid == 0) {
      if (relock == Relock::Full) mlockall(MCL_CURRENT | MCL_FUTURE);
      if (relock == Relock::Onfault) mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT);
      if (child == Child::Exec) execve(argv[0], argv, envp);
      _exit(child == Child::Exec ? 127 : 0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      state.SkipWithError("the child failed");
      break;
    }
  }
  (void)duende::mlock::unlock_all();  // and stops the library's re-locking
  state.counters["heap_MiB"] = static_cast<double>(mib);
  state.counters["child_private_dirty_MiB"] = static_cast<double>(private_dirty) / (1 << 20);
  state.counters["child_vmlck_MiB"] = static_cast<double>(vmlck) / (1 << 20);
}

constexpr struct {
  const char* name;
  Relock relock;
} kVariants[] = {{"NoRelock", Relock::None},
                 {"Full", Relock::Full},
                 {"Onfault", Relock::Onfault},
                 {"Library", Relock::Library}};

bool register_all() {
  for (const Child child : {Child::Exit, Child::Exec}) {
    const std::string kind = child == Child::Exit ? "BM_ForkExit_" : "BM_ForkExecTrue_";
    for (const auto& v : kVariants) {
      benchmark::RegisterBenchmark((kind + v.name).c_str(), BM_Fork, v.relock, child)
          ->Arg(64)
          ->Arg(256)
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime()
          ->Repetitions(5)
          ->ReportAggregatesOnly(true);
    }
    for (const char* size : {"/64", "/256"})
      for (const char* variant : {"Full", "Onfault", "Library"})
        duende::bench::compare(kind + variant + size + "/repeats:5/real_time_median",
                               kind + "NoRelock" + size + "/repeats:5/real_time_median");
  }
  return true;
}
[[maybe_unused]] const bool kRegistered = register_all();

}  // namespace
