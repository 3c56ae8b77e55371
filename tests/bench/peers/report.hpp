// The benchmark's output: per child count one Markdown table (rows = figures, columns =
// the peers, the two mlock-supervisor variants, the floor, then mlock-supervisor locked's
// ratio to the best peer and to the floor), the per-child cost from the smallest to the
// largest count, the goals of issue 14 ("goal: ≤ X, measured Y, met/missed"), the machine
// and the load around every window; and the same as JSON. Pure functions of Results.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "results.hpp"

namespace duende::peers {

// 3 significant digits, at most 2 decimals: 0.0123 → "0.01", 3.14159 → "3.14",
// 31.4159 → "31.4", 314.159 → "314", 31415.9 → "31416".
std::string format_number(double v);
// "median (min–max)" for a median row, the percentile alone otherwise; "n/a" for none.
std::string format_cell(const Summary& s, Stat stat);
// "1.23×", "–" without a value.
std::string format_ratio(std::optional<double> r);

// mlock-supervisor locked ÷ the lowest of the peers' values of that row.
std::optional<double> ratio_to_best_peer(const Results& r, int children, const Figure& f);
std::optional<double> ratio_to_floor(const Results& r, int children, const Figure& f);

struct Goal {
  std::string text;                // "own VmLck ≤ 1.10× the link floor at 1,000 children"
  double limit = 0;                // X
  std::optional<double> measured;  // Y; nullopt: not measured in this run
  std::string unit;                // "×" or "ms"
  std::string detail;              // what Y is made of
  bool met() const { return measured && *measured <= limit; }
};
std::vector<Goal> evaluate_goals(const Results& r);
std::string goal_line(const Goal& g);

std::string table_text(const Results& r, int children);
std::string per_child_text(const Results& r);
std::string report_text(const Results& r);
nlohmann::json report_json(const Results& r);
// Adds the samples, windows and notes of a report_json() document to `r` (the machine of
// the first one merged): runs of different child counts, or a count run again, printed as
// one report.
void merge_json(const nlohmann::json& j, Results& r);

}  // namespace duende::peers
