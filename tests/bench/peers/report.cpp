#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace duende::peers {
namespace {

std::optional<double> value(const Results& r, int n, const std::string& source,
                            const std::string& column, Stat stat = Stat::Median) {
  if (!r.has(n, source, column)) return std::nullopt;
  return stat_value(r.summary(n, source, column), stat);
}

std::optional<double> ratio(std::optional<double> a, std::optional<double> b) {
  if (!a || !b || *b <= 0) return std::nullopt;
  return *a / *b;
}

// The count a goal is about, or the largest measured below it (a --quick run) — said in
// the goal's detail.
int count_for(const Results& r, int wanted, std::string& detail) {
  int best = 0;
  for (int n : r.counts())
    if (n <= wanted) best = std::max(best, n);
  if (best != wanted && best > 0)
    detail += " (at " + std::to_string(best) + " children: " + std::to_string(wanted) +
              " not measured in this run)";
  return best;
}

}  // namespace

std::string format_number(double v) {
  char buf[64];
  const double a = std::fabs(v);
  if (a >= 100 || v == std::floor(v))
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (a >= 10)
    std::snprintf(buf, sizeof buf, "%.1f", v);
  else
    std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string format_cell(const Summary& s, Stat stat) {
  if (s.n == 0) return "n/a";
  if (stat != Stat::Median) return format_number(stat_value(s, stat));
  if (s.n == 1 || s.min == s.max) return format_number(s.median);
  return format_number(s.median) + " (" + format_number(s.min) + "–" + format_number(s.max) + ")";
}

std::string format_ratio(std::optional<double> r) {
  if (!r) return "–";
  char buf[32];
  std::snprintf(buf, sizeof buf, *r >= 100 ? "%.0f×" : "%.2f×", *r);
  return buf;
}

std::optional<double> ratio_to_best_peer(const Results& r, int n, const Figure& f) {
  std::optional<double> best;
  for (const auto& peer : kPeerColumns)
    if (auto v = value(r, n, f.source, peer, f.stat)) best = best ? std::min(*best, *v) : *v;
  return ratio(value(r, n, f.source, kLocked, f.stat), best);
}

std::optional<double> ratio_to_floor(const Results& r, int n, const Figure& f) {
  return ratio(value(r, n, f.source, kLocked, f.stat), value(r, n, f.source, kFloor, f.stat));
}

std::vector<Goal> evaluate_goals(const Results& r) {
  std::vector<Goal> goals;
  {
    Goal g{"own VmLck ≤ 1.10× the link floor at 1,000 children, one thread",
           1.10,
           {},
           "×",
           "VmLck ÷ link floor's VmLck"};
    const int n = count_for(r, 1000, g.detail);
    g.measured = ratio(value(r, n, "vmlck", kLocked), value(r, n, "vmlck", kFloor));
    if (auto t = value(r, n, "threads", kLocked); t && *t != 1) {
      g.detail += "; threads " + format_number(*t) + " (not 1: missed)";
      g.limit = -1;  // fails met() whatever the ratio
    }
    goals.push_back(g);
  }
  for (int wanted : {100, 1000}) {
    Goal g{"monitor CPU ≤ 1.1× the /proc floor at " + std::to_string(wanted) + " children",
           1.1,
           {},
           "×",
           "idle CPU ÷ one /proc/PID/status pass over all children a second"};
    const int n = count_for(r, wanted, g.detail);
    g.measured = ratio(value(r, n, "idle_cpu", kLocked), value(r, n, "idle_cpu", kFloor));
    goals.push_back(g);
  }
  {
    Goal g{"`mlockctl status` ≤ 2× `sv status` at 100 children",
           2.0,
           {},
           "×",
           "median wall time, mlockctl status ÷ sv status of every service"};
    const int n = count_for(r, 100, g.detail);
    g.measured = ratio(value(r, n, "status all", kLocked), value(r, n, "status all", "runit"));
    goals.push_back(g);
  }
  {
    const auto counts = r.counts();
    Goal g{"`status NAME` fetches only that child",
           1.25,
           {},
           "×",
           "proxy: its latency must not grow with the number of children (median at the "
           "largest ÷ at the smallest count)"};
    if (counts.size() >= 2)
      g.measured = ratio(value(r, counts.back(), "status one", kLocked),
                         value(r, counts.front(), "status one", kLocked));
    goals.push_back(g);
  }
  {
    Goal g{"GetManagedObjects p99 ≤ 50 ms at 1,000 children",
           50,
           {},
           " ms",
           "in-process sdbus-c++ client"};
    const int n = count_for(r, 1000, g.detail);
    g.measured = value(r, n, "gmo", kLocked, Stat::P99);
    goals.push_back(g);
  }
  const int largest = r.counts().empty() ? 0 : r.counts().back();
  {
    Goal g{"restart to locked median ≤ runit's restart to running (median)",
           1.0,
           {},
           "×",
           "at " + std::to_string(largest) + " children"};
    g.measured = ratio(value(r, largest, "restart_locked", kLocked),
                       value(r, largest, "restart_running", "runit"));
    goals.push_back(g);
  }
  {
    Goal g{"restart to locked p90 ≤ 2× runit's restart-to-running median",
           2.0,
           {},
           "×",
           "at " + std::to_string(largest) + " children"};
    g.measured = ratio(value(r, largest, "restart_locked", kLocked, Stat::P90),
                       value(r, largest, "restart_running", "runit"));
    goals.push_back(g);
  }
  {
    Goal g{"startup of 100 locked children ≤ 0.5× runit's (unlocked) startup",
           0.5,
           {},
           "×",
           "to all locked (verified by the supervisor) ÷ runit's to all running"};
    const int n = count_for(r, 100, g.detail);
    g.measured = ratio(value(r, n, "start_locked", kLocked), value(r, n, "start_running", "runit"));
    goals.push_back(g);
  }
  return goals;
}

std::string goal_line(const Goal& g) {
  const std::string limit = g.limit < 0 ? "1 thread" : "≤ " + format_number(g.limit) + g.unit;
  const std::string measured = g.measured ? format_number(*g.measured) + g.unit : "not measured";
  const std::string verdict = !g.measured ? "open" : g.met() ? "met" : "missed";
  return "- " + g.text + ": goal " + limit + ", measured " + measured + ", " + verdict + " — " +
         g.detail;
}

std::string table_text(const Results& r, int n) {
  std::string out = "#### " + std::to_string(n) + " children\n\n| figure |";
  for (const auto& c : kColumns) out += " " + c + " |";
  out += " ×best peer | ×floor |\n|---|";
  for (std::size_t i = 0; i < kColumns.size() + 2; ++i) out += "---|";
  out += "\n";
  for (const auto& f : figures()) {
    bool any = false;
    for (const auto& c : kColumns) any = any || r.has(n, f.source, c);
    if (!any) continue;
    out += "| " + f.label + (f.unit.empty() ? "" : " (" + f.unit + ")") + " |";
    for (const auto& c : kColumns)
      out += " " + format_cell(r.summary(n, f.source, c), f.stat) + " |";
    out += " " + format_ratio(ratio_to_best_peer(r, n, f)) + " | " +
           format_ratio(ratio_to_floor(r, n, f)) + " |\n";
  }
  return out;
}

std::string per_child_text(const Results& r) {
  const auto counts = r.counts();
  if (counts.size() < 2) return "";
  const int lo = counts.front(), hi = counts.back();
  std::string out = "#### Per-child cost, " + std::to_string(lo) + " → " + std::to_string(hi) +
                    " children (Δ median ÷ Δ children)\n\n| figure |";
  for (const auto& c : kColumns) out += " " + c + " |";
  out += "\n|---|";
  for (std::size_t i = 0; i < kColumns.size(); ++i) out += "---|";
  out += "\n";
  for (const auto& f : figures()) {
    if (f.stat != Stat::Median) continue;
    std::string row = "| " + f.label + (f.unit.empty() ? "" : " (" + f.unit + ")") + " |";
    bool any = false;
    for (const auto& c : kColumns) {
      const auto a = value(r, lo, f.source, c), b = value(r, hi, f.source, c);
      if (a && b) {
        const double per = (*b - *a) / (hi - lo);
        char buf[32];
        std::snprintf(buf, sizeof buf, std::fabs(per) >= 1 ? "%.2f" : "%.4f", per);
        row += std::string(" ") + buf + " |";
        any = true;
      } else {
        row += " – |";
      }
    }
    if (any) out += row + "\n";
  }
  return out;
}

std::string report_text(const Results& r) {
  std::string out = "### Machine\n\n" + std::to_string(r.machine.cores) + " cores (" +
                    r.machine.cpu + "), kernel " + r.machine.kernel + ", " + r.machine.date +
                    ", mode " + r.machine.mode + "\n\n";
  for (int n : r.counts()) out += table_text(r, n) + "\n";
  out += per_child_text(r);
  out += "\n#### Goals (issue 14, part 3)\n\n";
  for (const auto& g : evaluate_goals(r)) out += goal_line(g) + "\n";
  out += "\n#### Notes\n\n";
  for (const auto& n : r.notes) out += "- " + n + "\n";
  if (!r.windows.empty()) {
    double worst = 0;
    for (const auto& w : r.windows) worst = std::max({worst, w.load_before, w.load_after});
    out += "- load average (1 min) around the " + std::to_string(r.windows.size()) +
           " measuring windows: at most " + format_number(worst) +
           " (every window is in the JSON)\n";
  }
  return out;
}

nlohmann::json report_json(const Results& r) {
  using Json = nlohmann::json;
  Json j{{"format", 1},
         {"machine",
          {{"cores", r.machine.cores},
           {"kernel", r.machine.kernel},
           {"cpu", r.machine.cpu},
           {"date", r.machine.date},
           {"mode", r.machine.mode}}},
         {"notes", r.notes},
         {"windows", Json::array()},
         {"counts", Json::object()},
         {"goals", Json::array()}};
  for (const auto& w : r.windows)
    j["windows"].push_back({{"children", w.children},
                            {"round", w.round},
                            {"column", w.column},
                            {"what", w.what},
                            {"loadavg_before", w.load_before},
                            {"loadavg_after", w.load_after}});
  for (int n : r.counts()) {
    Json& rows = j["counts"][std::to_string(n)];
    rows = Json::array();
    for (const auto& f : figures()) {
      Json row{
          {"figure", f.label}, {"source", f.source}, {"unit", f.unit}, {"columns", Json::object()}};
      bool any = false;
      for (const auto& c : kColumns) {
        const auto& samples = r.samples(n, f.source, c);
        if (samples.empty()) continue;
        any = true;
        const Summary s = summarize(samples);
        row["columns"][c] = {{"value", stat_value(s, f.stat)},
                             {"median", s.median},
                             {"min", s.min},
                             {"max", s.max},
                             {"p90", s.p90},
                             {"p99", s.p99},
                             {"samples", samples}};
      }
      if (!any) continue;
      if (auto b = ratio_to_best_peer(r, n, f)) row["ratio_to_best_peer"] = *b;
      if (auto fl = ratio_to_floor(r, n, f)) row["ratio_to_floor"] = *fl;
      rows.push_back(row);
    }
  }
  for (const auto& g : evaluate_goals(r)) {
    Json goal{{"goal", g.text}, {"limit", g.limit}, {"unit", g.unit}, {"detail", g.detail}};
    goal["measured"] = g.measured ? Json(*g.measured) : Json(nullptr);
    goal["verdict"] = !g.measured ? "open" : g.met() ? "met" : "missed";
    j["goals"].push_back(goal);
  }
  return j;
}

void merge_json(const nlohmann::json& j, Results& r) {
  if (r.machine.cores == 0) {
    const auto& m = j.at("machine");
    r.machine = {m.at("cores").get<int>(), m.at("kernel").get<std::string>(),
                 m.at("cpu").get<std::string>(), m.at("date").get<std::string>(),
                 m.at("mode").get<std::string>()};
  }
  for (const auto& [count, rows] : j.at("counts").items()) {
    const int n = std::stoi(count);
    std::vector<std::string> done;  // a source shared by a p50 and a p90 row: once
    for (const auto& row : rows) {
      const auto source = row.at("source").get<std::string>();
      if (std::find(done.begin(), done.end(), source) != done.end()) continue;
      done.push_back(source);
      for (const auto& [column, cell] : row.at("columns").items())
        for (double v : cell.at("samples")) r.add(n, source, column, v);
    }
  }
  for (const auto& w : j.at("windows"))
    r.windows.push_back({w.at("children").get<int>(), w.at("round").get<int>(),
                         w.at("column").get<std::string>(), w.at("what").get<std::string>(),
                         w.at("loadavg_before").get<double>(),
                         w.at("loadavg_after").get<double>()});
  for (const auto& note : j.at("notes"))
    if (std::find(r.notes.begin(), r.notes.end(), note.get<std::string>()) == r.notes.end())
      r.notes.push_back(note.get<std::string>());
}

}  // namespace duende::peers
