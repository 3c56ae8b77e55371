#include "results.hpp"

namespace duende::peers {

const std::vector<Figure>& figures() {
  static const std::vector<Figure> kFigures = {
      {"own VmLck", "vmlck", "MiB"},
      {"own VmRSS", "vmrss", "MiB"},
      {"own threads", "threads", ""},
      {"tree PSS (supervision + children)", "pss", "MiB"},
      {"supervision PSS (without children)", "pss_supervision", "MiB"},
      {"idle CPU", "idle_cpu", "ms/s"},
      {"idle wakeups", "idle_wakeups", "/s"},
      {"startup to all running", "start_running", "ms"},
      {"startup to all locked", "start_locked", "ms"},
      {"startup to READY=1 / all ready", "start_ready", "ms"},
      {"restart to running p50", "restart_running", "ms"},
      {"restart to running p90", "restart_running", "ms", Stat::P90},
      {"restart to locked p50", "restart_locked", "ms"},
      {"restart to locked p90", "restart_locked", "ms", Stat::P90},
      {"status, all children", "status all", "ms"},
      {"status, one child", "status one", "ms"},
      {"status --json", "status --json", "ms"},
      {"GetManagedObjects p50", "gmo", "ms"},
      {"GetManagedObjects p99", "gmo", "ms", Stat::P99},
      {"ListChildProperties p50", "lcp", "ms"},
      {"ListChildProperties p99", "lcp", "ms", Stat::P99},
      {"Get(State) of one child p50", "get", "ms"},
      {"Get(State) of one child p99", "get", "ms", Stat::P99},
      {"own VmLck, on a bus", "vmlck_bus", "MiB"},
  };
  return kFigures;
}

void Results::add(int children, const std::string& source, const std::string& column,
                  double value) {
  data_[children][source][column].push_back(value);
}

const std::vector<double>& Results::samples(int children, const std::string& source,
                                            const std::string& column) const {
  static const std::vector<double> kNone;
  const auto a = data_.find(children);
  if (a == data_.end()) return kNone;
  const auto b = a->second.find(source);
  if (b == a->second.end()) return kNone;
  const auto c = b->second.find(column);
  return c == b->second.end() ? kNone : c->second;
}

std::vector<int> Results::counts() const {
  std::vector<int> out;
  for (const auto& [n, figures] : data_) out.push_back(n);
  return out;
}

double stat_value(const Summary& s, Stat stat) {
  switch (stat) {
    case Stat::P90:
      return s.p90;
    case Stat::P99:
      return s.p99;
    case Stat::Median:
      break;
  }
  return s.median;
}

}  // namespace duende::peers
