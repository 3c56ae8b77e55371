// Order statistics of a figure's samples: what the table prints (median, min–max) and the
// percentiles the goals use. Pure functions, tested by the self-test.
#pragma once

#include <cstddef>
#include <vector>

namespace duende::peers {

struct Summary {
  std::size_t n = 0;  // 0: no samples, every other field 0
  double min = 0, max = 0, median = 0, p90 = 0, p99 = 0;
};

// The value below which a fraction `p` (0..1) of `samples` lies, by linear interpolation
// between the closest ranks (the definition numpy and R's type 7 use), so that p = 0.5 of
// an even count is the mean of the middle two. 0 for no samples.
double percentile(std::vector<double> samples, double p);

Summary summarize(const std::vector<double>& samples);

}  // namespace duende::peers
