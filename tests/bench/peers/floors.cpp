#include "floors.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <sstream>

#include "process.hpp"
#include "stats.hpp"

namespace duende::peers {
namespace {

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

}  // namespace

std::optional<StatusFigures> parse_link_floor(const std::string& text) {
  std::istringstream in(text);
  StatusFigures f;
  std::string k1, k2, k3;
  if (!(in >> k1 >> f.vmlck_kb >> k2 >> f.vmrss_kb >> k3 >> f.threads)) return std::nullopt;
  if (k1 != "VmLck" || k2 != "VmRSS" || k3 != "Threads") return std::nullopt;
  return f;
}

std::optional<StatusFigures> measure_link_floor(const std::string& program,
                                                const std::string& scratch_file) {
  const int out = open(scratch_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) return std::nullopt;
  SpawnOptions o;
  o.argv = {program};
  o.env = base_environment("");
  o.out_fd = out;
  const RunResult r = run(o);
  close(out);
  if (r.status != 0) return std::nullopt;
  return parse_link_floor(read_text(scratch_file));
}

double proc_pass_cpu_ms(const std::vector<pid_t>& pids, int passes) {
  std::vector<std::string> paths;
  for (pid_t pid : pids) paths.push_back("/proc/" + std::to_string(pid) + "/status");
  std::vector<double> samples;
  char buf[4096];
  for (int i = 0; i < passes; ++i) {
    const double start = thread_cpu_ms();
    const timespec second{1, 0};
    nanosleep(&second, nullptr);
    for (const auto& path : paths) {
      const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      while (read(fd, buf, sizeof buf) > 0) {
      }
      close(fd);
    }
    samples.push_back(thread_cpu_ms() - start);
  }
  return percentile(samples, 0.5);
}

}  // namespace duende::peers
