// Collects benchmark results so main() can print each figure's ratio to its baseline.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace duende::bench {

// (measured, baseline) benchmark-name pairs whose real-time ratio main() prints.
std::vector<std::pair<std::string, std::string>>& ratio_pairs();

// Registers `measured / baseline` to be printed after the run.
inline bool compare(std::string measured, std::string baseline) {
  ratio_pairs().emplace_back(std::move(measured), std::move(baseline));
  return true;
}

// True when --quick was given: benchmarks shrink their setup (CI smoke run).
bool quick();

}  // namespace duende::bench
