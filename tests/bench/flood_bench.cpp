// What a flood costs supervision, measured on the real daemon (not a test: it prints, it
// asserts nothing): a child's restart latency after SIGKILL (median and p90) and D-Bus
// answers a second to one client, quiet, under a bus read flood (64 unprivileged clients,
// each with a GetManagedObjects call in flight) and under a notify flood (a child sending
// lock reports as fast as it can), each as a ratio to the quiet figure of the same run.
// Root (the bus policy, setresuid to nobody). --quick: tiny counts, for ctest.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "bus_harness.hpp"

namespace duende::itest {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::duration;

struct Figures {
  double restart_median_ms = 0, restart_p90_ms = 0;
  double answers_per_s = 0;
};

// SIGKILLs the victim `rounds` times; each time, how long until its next process wrote
// its pid (spinning on the file, so the figure's resolution is well under a millisecond).
std::vector<double> restart_latencies(const std::string& pid_file, int rounds) {
  std::vector<double> ms;
  for (int i = 0; i < rounds; ++i) {
    const pid_t old = read_pid(pid_file);
    if (old <= 0 || ::kill(old, SIGKILL) != 0) break;
    const auto killed = Clock::now();
    const auto give_up = killed + std::chrono::seconds(10);
    pid_t now = old;
    while ((now == old || now <= 0) && Clock::now() < give_up) {
      ::usleep(100);
      now = read_pid(pid_file);
    }
    ms.push_back(duration<double, std::milli>(Clock::now() - killed).count());
    ::usleep(50 * 1000);  // let it settle before the next round
  }
  return ms;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

Figures measure(const std::string& pid_file, BusClient& client, int rounds,
                std::chrono::milliseconds window) {
  Figures f;
  const auto latencies = restart_latencies(pid_file, rounds);
  f.restart_median_ms = percentile(latencies, 0.5);
  f.restart_p90_ms = percentile(latencies, 0.9);
  int calls = 0;
  const auto start = Clock::now();
  while (Clock::now() - start < window) {
    client.managed_objects();
    ++calls;
  }
  f.answers_per_s = calls / duration<double>(Clock::now() - start).count();
  return f;
}

void print(const char* what, const Figures& f, const Figures& quiet) {
  std::printf("%-34s %8.2f ms %8.2f ms %6.2fx %10.0f/s %6.2fx\n", what, f.restart_median_ms,
              f.restart_p90_ms, f.restart_median_ms / quiet.restart_median_ms, f.answers_per_s,
              f.answers_per_s / quiet.answers_per_s);
}

int run(bool quick) {
  if (::geteuid() != 0) {
    std::printf("flood bench: skipped: needs root (bus policy, clients as nobody)\n");
    return 0;
  }
  const int rounds = quick ? 3 : 30, clients = quick ? 8 : 64;
  const auto window = std::chrono::milliseconds(quick ? 200 : 2000);
  Harness h;
  PrivateBus bus(h.dir());
  const std::string pid_file = h.path("victim.pid"), gate = h.path("flood.gate");
  Json victim = test_child({"--write-pid", pid_file});
  victim["ready"] = "exec";
  victim["mlock"] = {{"required", false}};
  victim["restart"] = "always";
  victim["restart_sec"] = 0;
  victim["start_limit_burst"] = 1000000;
  h.config["children"]["victim"] = victim;
  Json flooder = test_child({"--touch-mib", "256", "--flood-when", gate});
  flooder["ready"] = "exec";
  flooder["mlock"] = {{"required", false}};
  h.config["children"]["flooder"] = flooder;
  Harness::Launch launch;
  launch.bus_address = bus.address();
  h.start(launch);
  if (!h.wait_until([&] { return name_owned(bus.address()) && read_pid(pid_file) > 0; })) {
    std::fprintf(stderr, "flood bench: the daemon did not come up\n");
    return 1;
  }
  BusClient client(bus.address());

  std::printf("%-34s %11s %11s %7s %12s %7s\n", "scenario", "restart p50", "p90", "ratio", "D-Bus",
              "ratio");
  const Figures quiet = measure(pid_file, client, rounds, window);
  print("quiet (baseline)", quiet, quiet);
  {
    UnprivilegedReaders readers(bus.address(), clients);
    h.wait_until([&] { return readers.total_answers() >= clients; });
    const Figures bus_flood = measure(pid_file, client, rounds, window);
    print((std::to_string(clients) + " unprivileged D-Bus readers").c_str(), bus_flood, quiet);
  }
  h.write_file(gate, "");
  h.wait_until([&] { return h.count("flooder: flooding the notify socket") > 0; });
  const Figures notify_flood = measure(pid_file, client, rounds, window);
  print("a child flooding lock reports", notify_flood, quiet);
  h.stop();
  return 0;
}

}  // namespace
}  // namespace duende::itest

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  return duende::itest::run(quick);
}
