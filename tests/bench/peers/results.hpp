// The benchmark's data: samples per child count, figure and column, the machine it ran
// on and the load around every measuring window; and the catalog of figures the table
// shows, in order. Columns are the peers, the two mlock-supervisor variants and "floor".
#pragma once

#include <map>
#include <string>
#include <vector>

#include "stats.hpp"

namespace duende::peers {

inline const std::vector<std::string> kPeerColumns = {"supervisord", "runit", "s6"};
inline const std::string kLocked = "mlock-supervisor locked";
inline const std::string kUnlocked = "mlock-supervisor unlocked";
inline const std::string kFloor = "floor";
inline const std::vector<std::string> kColumns = {"supervisord", "runit",   "s6",
                                                  kLocked,       kUnlocked, kFloor};

enum class Stat { Median, P90, P99 };

// One row of the table: `stat` of the samples stored under `source`.
struct Figure {
  std::string label;
  std::string source;
  std::string unit;
  Stat stat = Stat::Median;
};
const std::vector<Figure>& figures();

struct Window {
  int children = 0;
  int round = 0;
  std::string column, what;
  double load_before = 0, load_after = 0;
};

struct Machine {
  int cores = 0;
  std::string kernel, cpu, date, mode;
};

class Results {
 public:
  void add(int children, const std::string& source, const std::string& column, double value);
  // The samples stored (empty when none).
  const std::vector<double>& samples(int children, const std::string& source,
                                     const std::string& column) const;
  Summary summary(int children, const std::string& source, const std::string& column) const {
    return summarize(samples(children, source, column));
  }
  std::vector<int> counts() const;
  bool has(int children, const std::string& source, const std::string& column) const {
    return !samples(children, source, column).empty();
  }

  Machine machine;
  std::vector<Window> windows;
  std::vector<std::string> notes;

 private:
  std::map<int, std::map<std::string, std::map<std::string, std::vector<double>>>> data_;
};

// The value a figure's row shows for `s`.
double stat_value(const Summary& s, Stat stat);

}  // namespace duende::peers
