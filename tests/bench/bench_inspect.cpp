// What verification costs per child and tick: inspect() without and with the smaps
// coverage walk, against the baseline of one raw read of /proc/PID/status.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench_ratio.hpp"
#include "duende/mlock.hpp"

namespace {

void BM_ReadStatusBaseline(benchmark::State& state) {
  char buf[8192];
  for (auto _ : state) {
    const int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    benchmark::DoNotOptimize(read(fd, buf, sizeof buf));
    close(fd);
  }
}
BENCHMARK(BM_ReadStatusBaseline)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_Inspect(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(duende::mlock::inspect(getpid(), false));
}
BENCHMARK(BM_Inspect)->Unit(benchmark::kMicrosecond)->UseRealTime();

// A process with `mappings` extra mappings (each its own VMA: alternating protections).
void BM_InspectWithCoverage(benchmark::State& state) {
  static std::size_t made = 0;
  const auto wanted = static_cast<std::size_t>(state.range(0));
  static char* region = nullptr;
  if (made < wanted) {
    const long page = sysconf(_SC_PAGESIZE);
    region = static_cast<char*>(mmap(nullptr, wanted * 2 * page, PROT_READ | PROT_WRITE,
                                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    for (std::size_t i = 0; i < wanted; ++i) mprotect(region + (2 * i + 1) * page, page, PROT_READ);
    made = wanted;
  }
  for (auto _ : state) benchmark::DoNotOptimize(duende::mlock::inspect(getpid(), true));
  state.counters["mappings"] = static_cast<double>(wanted);
}
BENCHMARK(BM_InspectWithCoverage)->Arg(0)->Arg(1000)->Unit(benchmark::kMicrosecond)->UseRealTime();

[[maybe_unused]] const bool kCompared =
    duende::bench::compare("BM_Inspect/real_time", "BM_ReadStatusBaseline/real_time") &&
    duende::bench::compare("BM_InspectWithCoverage/0/real_time", "BM_Inspect/real_time") &&
    duende::bench::compare("BM_InspectWithCoverage/1000/real_time", "BM_Inspect/real_time");

}  // namespace
