#include "ctl/ctl_watch_filter.hpp"

#include <cstdlib>
#include <set>

namespace duende::supervisor {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

bool is_count(const std::string& p) { return p == "Threads" || p == "IoFlusherThreads"; }

// Whether `now` is far enough from `last` to be news.
// The figures whose crossing of zero is news of its own (a lock gained or lost, pages
// in swap); for the others a process starting or ending says it already.
bool zero_is_news(const std::string& p) {
  return p == "LockedBytes" || p == "SwappedBytes" || p == "SwappedShmemBytes" ||
         p == "SwapUsedBytes";
}

bool far_apart(const std::string& property, const std::string& last, const std::string& now) {
  const std::uint64_t a = std::strtoull(last.c_str(), nullptr, 10);
  const std::uint64_t b = std::strtoull(now.c_str(), nullptr, 10);
  if ((a == 0) != (b == 0)) return zero_is_news(property);
  const std::uint64_t diff = a > b ? a - b : b - a;
  const std::uint64_t floor = is_count(property) ? 4 : kMiB;
  return diff >= floor && diff * 4 >= std::max(a, b);
}

}  // namespace

bool is_churning(const std::string& p) {
  static const std::set<std::string> kChurning = {
      "LockedBytes",   "SwappedBytes",          "SwappedShmemBytes",
      "ResidentBytes", "ResidentUnlockedBytes", "MemlockHeadroomBytes",
      "SwapUsedBytes", "SelfLockedBytes",       "TotalLockedBytes",
      "Threads",       "IoFlusherThreads"};
  return kChurning.count(p) > 0;
}

std::vector<std::string> WatchFilter::changes(const std::string& who,
                                              const std::map<std::string, std::string>& changed) {
  std::vector<std::string> out;
  auto& printed = printed_[who];
  // State first: "stopped → starting" before the pid it got.
  std::vector<std::pair<std::string, std::string>> ordered;
  const auto state = changed.find("State");
  if (state != changed.end()) ordered.push_back(*state);
  for (const auto& entry : changed)
    if (entry.first != "State") ordered.push_back(entry);
  for (const auto& [key, value] : ordered) {
    const auto it = printed.find(key);
    if (it == printed.end()) {
      printed[key] = value;
      continue;
    }
    const std::string last = it->second;
    if (last == value) continue;
    if (is_churning(key) && !far_apart(key, last, value)) continue;
    it->second = value;
    // Said by other lines: the pid, the state; the list is for show.
    if (key == "Processes" || key == "StartedAt" || key == "AdoptedAt") continue;
    if (key == "IoFlusher" && (last.empty() || value.empty()))
      continue;  // unknown while no process
    if (key == "State") {
      out.push_back(who + ": " + last + " → " + value);
    } else if (key == "Pid") {
      if (value != "0") out.push_back(who + ": pid " + value);
    } else if (key == "LastFailure" || key == "ReexecFailure" || key == "SwapError") {
      if (!value.empty()) out.push_back(who + ": " + key + ": " + value);
    } else {
      out.push_back(who + ": " + key + " " + (last.empty() ? "\"\"" : last) + " → " +
                    (value.empty() ? "\"\"" : value));
    }
  }
  return out;
}

void WatchFilter::seed(const std::string& who, const std::map<std::string, std::string>& values) {
  auto& printed = printed_[who];
  for (const auto& [key, value] : values) printed[key] = value;
}

void WatchFilter::forget(const std::string& who) { printed_.erase(who); }

}  // namespace duende::supervisor
