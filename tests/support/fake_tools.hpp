// The helper programs of the fake OS seam (System::run_tool, read_proc_swaps): mkswap,
// swapon and swapoff answer as the test says (by default at once, with success), and a
// swapon or swapoff that succeeds changes the fake /proc/swaps as the kernel's would.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "os/system.hpp"

namespace duende::supervisor::test {

class FakeTools {
 public:
  // One line of the fake /proc/swaps (sizes in KiB, as the file has them).
  struct SwapAreaLine {
    std::string path;
    std::uint64_t size_kib = 65536;
    std::uint64_t used_kib = 0;
    int priority = -2;
  };
  // How a program answers: its status and output; `hang`: it never ends by itself (the
  // test ends it with finish(), or the core's deadline kills it).
  struct Answer {
    int code = 0;
    std::string output;
    bool hang = false;
  };
  static Answer hanging() {
    Answer a;
    a.hang = true;
    return a;
  }
  struct Run {
    int id = 0;
    std::vector<std::string> argv;
    std::function<void(ToolResult)> on_exit;
    bool ended = false;
    bool released = false;
    bool killed = false;
  };

  // Answers of program `path` (argv[0]) from now on.
  void answer(const std::string& path, Answer a) { answers_[path] = std::move(a); }
  // Every run_tool() call, in order.
  const std::vector<Run>& runs() const { return runs_; }
  std::vector<std::vector<std::string>> argvs() const {
    std::vector<std::vector<std::string>> out;
    for (const Run& r : runs_) out.push_back(r.argv);
    return out;
  }
  // Ends run `id` now (if it runs) with `a`, as the kernel's pidfd would tell.
  void finish(int id, const Answer& a) {
    Run* r = find(id);
    if (!r || r->ended) return;
    r->ended = true;
    apply(*r, a);
    if (r->released || !r->on_exit) return;
    const auto on_exit = r->on_exit;
    on_exit(ToolResult{ExitStatus{false, a.code}, a.output});
  }
  int last_id() const { return runs_.empty() ? -1 : runs_.back().id; }

  // /proc/swaps as the fake kernel has it.
  void add_area(SwapAreaLine line) { areas_[line.path] = line; }
  void remove_area(const std::string& path) { areas_.erase(path); }
  bool has_area(const std::string& path) const { return areas_.count(path) > 0; }
  void set_used(const std::string& path, std::uint64_t kib) { areas_[path].used_kib = kib; }
  std::uint64_t default_size_kib = 65536;

  // ---- what FakeSystem forwards ----
  mlock::Result<int, SpawnError> run(const std::vector<std::string>& argv,
                                     std::function<void(ToolResult)> on_exit) {
    Run r{next_id_++, argv, std::move(on_exit)};
    runs_.push_back(r);
    const Answer a = answers_.count(argv.at(0)) ? answers_.at(argv.at(0)) : Answer{};
    if (!a.hang) pending_.push_back({r.id, a});
    return r.id;
  }
  void release(int id, bool kill) {
    if (Run* r = find(id)) {
      r->released = true;
      r->killed = kill;
    }
  }
  std::string proc_swaps() const {
    std::string out = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
    for (const auto& [path, a] : areas_)
      out += path + "                               partition\t" + std::to_string(a.size_kib) +
             "\t\t" + std::to_string(a.used_kib) + "\t\t" + std::to_string(a.priority) + "\n";
    return out;
  }
  bool has_pending() const { return !pending_.empty(); }
  void deliver() {
    while (!pending_.empty()) {
      const auto [id, a] = pending_.front();
      pending_.pop_front();
      finish(id, a);
    }
  }

 private:
  Run* find(int id) {
    for (Run& r : runs_)
      if (r.id == id) return &r;
    return nullptr;
  }
  // A successful swapon or swapoff changes /proc/swaps.
  void apply(const Run& r, const Answer& a) {
    if (a.code != 0 || r.argv.size() < 2) return;
    const std::string& device = r.argv.back();
    if (r.argv[0] == kSwapon) {
      int priority = -2;
      if (r.argv.size() == 4) priority = std::stoi(r.argv[2]);
      areas_[device] = SwapAreaLine{device, default_size_kib, 0, priority};
    } else if (r.argv[0] == kSwapoff) {
      areas_.erase(device);
    }
  }
  static constexpr const char* kSwapon = "/sbin/swapon";
  static constexpr const char* kSwapoff = "/sbin/swapoff";

  std::map<std::string, Answer> answers_;
  std::vector<Run> runs_;
  std::deque<std::pair<int, Answer>> pending_;
  std::map<std::string, SwapAreaLine> areas_;
  int next_id_ = 9000;
};

}  // namespace duende::supervisor::test
