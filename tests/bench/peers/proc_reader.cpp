#include "proc_reader.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>

namespace duende::peers {
namespace {

std::vector<pid_t> numeric_entries(const std::string& dir) {
  std::vector<pid_t> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    const long v = std::strtol(e->d_name, &end, 10);
    if (end != e->d_name && *end == '\0') out.push_back(static_cast<pid_t>(v));
  }
  closedir(d);
  return out;
}

// The fields of /proc/PID/stat after the ")" that ends comm (which may hold spaces).
std::vector<std::string> stat_fields(pid_t pid) {
  const std::string text = read_text("/proc/" + std::to_string(pid) + "/stat");
  const auto close = text.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream in(text.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  return fields;  // fields[0] is field 3 (state)
}

}  // namespace

std::string read_text(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

std::optional<long> status_number(const std::string& text, const std::string& key) {
  const std::string needle = key + ":";
  for (std::size_t at = 0; (at = text.find(needle, at)) != std::string::npos; ++at) {
    if (at != 0 && text[at - 1] != '\n') continue;
    return std::strtol(text.c_str() + at + needle.size(), nullptr, 10);
  }
  return std::nullopt;
}

std::optional<StatusFigures> read_status(pid_t pid) {
  const std::string text = read_text("/proc/" + std::to_string(pid) + "/status");
  const auto threads = status_number(text, "Threads");
  if (!threads) return std::nullopt;
  // Kernel threads and zombies have no Vm* lines: 0.
  return StatusFigures{status_number(text, "VmLck").value_or(0),
                       status_number(text, "VmRSS").value_or(0), *threads};
}

long pss_kb(pid_t pid) {
  return status_number(read_text("/proc/" + std::to_string(pid) + "/smaps_rollup"), "Pss")
      .value_or(0);
}

std::optional<Sched> read_sched(pid_t pid) {
  const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  const auto tids = numeric_entries(task_dir);
  if (tids.empty()) return std::nullopt;
  Sched total;
  for (pid_t tid : tids) {
    std::istringstream in(read_text(task_dir + "/" + std::to_string(tid) + "/schedstat"));
    std::uint64_t cpu = 0, wait = 0, runs = 0;
    if (in >> cpu >> wait >> runs) {
      total.cpu_ns += cpu;
      total.runs += runs;
    }
  }
  return total;
}

std::uint64_t start_time(pid_t pid) {
  const auto f = stat_fields(pid);
  return f.size() > 19 ? std::strtoull(f[19].c_str(), nullptr, 10) : 0;
}

std::vector<pid_t> descendants(pid_t root) {
  std::multimap<pid_t, pid_t> children;  // parent -> child
  for (pid_t pid : numeric_entries("/proc")) {
    const auto f = stat_fields(pid);
    if (f.size() > 1) children.emplace(static_cast<pid_t>(std::atol(f[1].c_str())), pid);
  }
  std::vector<pid_t> out{root};
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto [lo, hi] = children.equal_range(out[i]);
    for (auto it = lo; it != hi; ++it) out.push_back(it->second);
  }
  return out;
}

std::vector<pid_t> processes_under(const std::string& dir) {
  std::vector<pid_t> out;
  const pid_t self = getpid();
  for (pid_t pid : numeric_entries("/proc")) {
    if (pid == self) continue;
    const std::string proc = "/proc/" + std::to_string(pid);
    char cwd[4096];
    const ssize_t n = readlink((proc + "/cwd").c_str(), cwd, sizeof cwd - 1);
    const bool in_dir = n > 0 && std::string_view(cwd, static_cast<size_t>(n)).rfind(dir, 0) == 0;
    std::string cmdline = read_text(proc + "/cmdline");
    for (char& c : cmdline)
      if (c == '\0') c = ' ';
    if (in_dir || cmdline.find(dir) != std::string::npos) out.push_back(pid);
  }
  return out;
}

LoadAvg read_loadavg() {
  std::istringstream in(read_text("/proc/loadavg"));
  LoadAvg l;
  in >> l.one >> l.five >> l.fifteen;
  return l;
}

}  // namespace duende::peers
