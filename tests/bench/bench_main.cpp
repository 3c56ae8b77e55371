// Runs the benchmarks, then prints "measured / baseline" ratios from the same run, so
// figures compare like with like whatever machine they ran on.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>

#include "bench_ratio.hpp"

namespace duende::bench {

std::vector<std::pair<std::string, std::string>>& ratio_pairs() {
  static std::vector<std::pair<std::string, std::string>> pairs;
  return pairs;
}

namespace {
bool g_quick = false;

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  RatioReporter() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_Defaults : OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs)
      // Aggregates too ("…_median"): a benchmark with repetitions compares those.
      times_[r.benchmark_name()] = r.GetAdjustedRealTime();
    ConsoleReporter::ReportRuns(runs);
  }
  void print_ratios() const {
    std::printf("\nRatios (real time, same run):\n");
    for (const auto& [measured, baseline] : ratio_pairs()) {
      const auto m = times_.find(measured), b = times_.find(baseline);
      if (m == times_.end() || b == times_.end() || b->second <= 0) continue;
      std::printf("  %-48s / %-40s = %6.2f\n", measured.c_str(), baseline.c_str(),
                  m->second / b->second);
    }
  }

 private:
  std::map<std::string, double> times_;
};
}  // namespace

bool quick() { return g_quick; }

}  // namespace duende::bench

int main(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0)
      duende::bench::g_quick = true;
    else
      args.push_back(argv[i]);
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  duende::bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios();
  benchmark::Shutdown();
  return 0;
}
