#include "self_test.hpp"

#include <cmath>
#include <cstdio>
#include <string>

#include "events.hpp"
#include "floors.hpp"
#include "proc_reader.hpp"
#include "report.hpp"

namespace duende::peers {
namespace {

int g_failed = 0;

void check(bool ok, const std::string& what) {
  if (ok) return;
  ++g_failed;
  std::fprintf(stderr, "self-test: FAILED: %s\n", what.c_str());
}

void check_near(double got, double want, const std::string& what) {
  check(std::fabs(got - want) < 1e-9,
        what + ": got " + std::to_string(got) + ", want " + std::to_string(want));
}

void check_eq(const std::string& got, const std::string& want, const std::string& what) {
  check(got == want, what + ": got \"" + got + "\", want \"" + want + "\"");
}

void test_stats() {
  check_near(percentile({3, 1, 4, 2}, 0.5), 2.5, "median of an even count");
  check_near(percentile({5, 1, 3}, 0.5), 3, "median of an odd count");
  check_near(percentile({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9), 9.1, "p90 interpolates");
  check_near(percentile({7}, 0.99), 7, "one sample is every percentile");
  check_near(percentile({}, 0.5), 0, "no samples");
  const Summary s = summarize({4, 8, 1, 2});
  check(s.n == 4 && s.min == 1 && s.max == 8, "summary min/max/n");
  check_near(s.median, 3, "summary median");
}

void test_formats() {
  check_eq(format_number(0.0123), "0.01", "small number");
  check_eq(format_number(3.14159), "3.14", "units");
  check_eq(format_number(31.4159), "31.4", "tens");
  check_eq(format_number(314.159), "314", "hundreds");
  check_eq(format_number(2), "2", "integer");
  Summary s = summarize({1, 2, 3});
  check_eq(format_cell(s, Stat::Median), "2 (1–3)", "median cell");
  check_eq(format_cell(summarize({}), Stat::Median), "n/a", "empty cell");
  check_eq(format_ratio(1.5), "1.50×", "ratio");
  check_eq(format_ratio(std::nullopt), "–", "no ratio");
}

void test_parsers() {
  const auto h = parse_hello("hello c12 4242 9300");
  check(h && h->name == "c12" && h->pid == 4242 && h->vmlck_kb == 9300, "hello parsed");
  check(!parse_hello("READY=1"), "READY=1 is no hello");
  check(parse_ready_line("<6>c3: ready, locked (9 MiB)") == std::optional<std::string>("c3"),
        "ready line with a lock report");
  check(parse_ready_line("<6>c3: ready") == std::optional<std::string>("c3"), "bare ready line");
  check(!parse_ready_line("<6>c3: ready and locked; turning swap on"), "swap line is no ready");
  check(!parse_ready_line("<6>c3: started, pid 7"), "start line is no ready");
  const auto f = parse_link_floor("VmLck 9300 VmRSS 9400 Threads 1 \n");
  check(f && f->vmlck_kb == 9300 && f->vmrss_kb == 9400 && f->threads == 1, "link floor line");
  check(!parse_link_floor("mlockall: Operation not permitted"), "link floor failure");
  const std::string status = "Name:\tx\nVmLck:\t    9300 kB\nThreads:\t1\n";
  check(status_number(status, "VmLck") == 9300, "status VmLck");
  check(!status_number(status, "VmSwap"), "status without VmSwap");
  check(status_number("XVmLck:\t5 kB\n", "VmLck") == std::nullopt, "key at line start only");
}

void test_report() {
  const Results r = synthetic_results();
  const Figure vmlck{"own VmLck", "vmlck", "MiB"};
  check_near(*ratio_to_best_peer(r, 100, vmlck), 10.0 / 4.0, "ratio to the best peer");
  check_near(*ratio_to_floor(r, 100, vmlck), 10.0 / 9.0, "ratio to the floor");
  const auto goals = evaluate_goals(r);
  check(goals.size() == 9, "nine goals");
  check(goals[0].measured && std::fabs(*goals[0].measured - 10.0 / 9.0) < 1e-9 && !goals[0].met(),
        "VmLck goal: 1.11x misses 1.10x");
  check(goals[3].measured && std::fabs(*goals[3].measured - 1.5) < 1e-9 && goals[3].met(),
        "status goal: 1.5x meets 2x");
  check(goal_line(goals[3]).find("met") != std::string::npos, "goal line says met");
  const std::string text = report_text(r);
  check(text.find("#### 100 children") != std::string::npos, "a table per count");
  check(text.find("| own VmLck (MiB) |") != std::string::npos, "a row per figure");
  check(text.find("Per-child cost") != std::string::npos, "per-child table");
  const auto json = report_json(r);
  check(json["counts"]["100"].size() > 3 && json["goals"].size() == 9, "JSON has counts and goals");
  check(json["counts"]["100"][0]["columns"]["runit"]["median"] == 4.0, "JSON medians");
  Results merged;
  merge_json(json, merged);
  check(merged.samples(100, "vmlck", "runit") == r.samples(100, "vmlck", "runit"),
        "merge reads the samples back");
  check(merged.samples(100, "restart_locked", kLocked).size() == 3,
        "merge reads a source shared by two rows once");
}

}  // namespace

Results synthetic_results() {
  Results r;
  r.machine = {2, "6.1.0", "test CPU", "2024-01-01", "synthetic"};
  for (int n : {10, 100}) {
    const double k = n / 10.0;
    for (double v : {4.0, 5.0}) r.add(n, "vmlck", "supervisord", v + 1);
    for (double v : {4.0, 4.0}) r.add(n, "vmlck", "runit", v);
    r.add(n, "vmlck", "s6", 6);
    r.add(n, "vmlck", kLocked, 10);
    r.add(n, "vmlck", kFloor, 9);
    r.add(n, "threads", kLocked, 1);
    r.add(n, "idle_cpu", kLocked, 0.1 * k);
    r.add(n, "idle_cpu", kFloor, 0.05 * k);
    r.add(n, "status all", "runit", 2 * k);
    r.add(n, "status all", kLocked, 3 * k);
    r.add(n, "status one", kLocked, 3);
    r.add(n, "start_running", "runit", 100 * k);
    r.add(n, "start_locked", kLocked, 40 * k);
    for (double v : {1.0, 2.0, 3.0}) r.add(n, "restart_running", "runit", v);
    for (double v : {1.0, 1.5, 5.0}) r.add(n, "restart_locked", kLocked, v);
    for (double v : {1.0, 2.0}) r.add(n, "gmo", kLocked, v * k);
  }
  r.windows.push_back({10, 1, "runit", "idle", 0.5, 0.6});
  r.notes.push_back("synthetic data");
  return r;
}

int self_test() {
  g_failed = 0;
  test_stats();
  test_formats();
  test_parsers();
  test_report();
  std::printf("self-test: %s\n", g_failed == 0 ? "all checks passed" : "FAILED");
  return g_failed;
}

}  // namespace duende::peers
