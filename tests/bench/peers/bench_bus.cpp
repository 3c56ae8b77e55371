// The parts of a round that are not one peer's start-to-stop: the floors, and
// mlock-supervisor (locked) on the private bus, where mlockctl and the in-process D-Bus
// client are measured. The footprint figures come from runs without a bus (bench_run.cpp):
// a connection and its buffers are part of what the bus costs, shown on their own row.
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "bench_run.hpp"
#include "floors.hpp"
#include "proc_reader.hpp"

namespace duende::peers {

void BenchRun::measure_floors(int n, int round) {
  if (auto floor = measure_link_floor(link_floor_, work_dir_ + "/link-floor.out")) {
    results_.add(n, "vmlck", kFloor, floor->vmlck_kb / 1024.0);
    results_.add(n, "vmrss", kFloor, floor->vmrss_kb / 1024.0);
    results_.add(n, "threads", kFloor, static_cast<double>(floor->threads));
    results_.add(n, "vmlck_bus", kFloor, floor->vmlck_kb / 1024.0);
  } else if (round == 0) {
    results_.notes.push_back("link floor: " + link_floor_ + " did not run");
  }
  // The /proc floor needs N live processes: the last locked run's children are gone by
  // now, so it reads N processes of its own kind: bench-child started here, unsupervised.
  std::vector<ProcessId> kids;
  for (int i = 0; i < n; ++i) {
    SpawnOptions o;
    o.argv = {programs_.child, "floor"};
    o.env = base_environment("");
    o.cwd = work_dir_;
    kids.push_back(identify(spawn(o)));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::vector<pid_t> pids;
  for (const auto& k : kids) pids.push_back(k.pid);
  // Once a second (monitor_interval_sec 1.0): the pass's CPU ms is the floor's ms/s.
  results_.add(n, "idle_cpu", kFloor, proc_pass_cpu_ms(pids, 11));
  results_.add(n, "idle_wakeups", kFloor, 1.0);
  kill_all(kids);
}

void BenchRun::measure_bus(int n, int round) {
  std::fprintf(stderr, "bench: %d children, round %d: %s on the bus\n", n, round + 1,
               kLocked.c_str());
  auto peer = make(kLocked, true);
  const std::string dir = fresh_dir(kLocked, n, round, "-bus");
  peer->prepare(dir, n);
  events_->reset();
  Events& ev = *events_;
  try {
    peer->start(ev);
    const auto deadline = Clock::now() + std::chrono::seconds(60 + n / 5);
    if (!peer->wait_all_ready(ev, deadline)) throw std::runtime_error("no READY=1 on the bus");
    // READY=1 may come before the name is owned: supervision never waits for the bus.
    while (!probe_->managed_objects_ms() && Clock::now() < deadline && !interrupted())
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (probe_->last_object_count() < static_cast<std::size_t>(n))
      throw std::runtime_error("GetManagedObjects did not list every child");
    std::this_thread::sleep_for(
        std::chrono::milliseconds(static_cast<long>(plan_.settle_seconds * 1000)));
    measure_footprint(*peer, n, kLocked, "vmlck_bus");
    for (int i = 0; i < plan_.dbus_calls && !interrupted(); ++i) {
      if (auto ms = probe_->managed_objects_ms()) results_.add(n, "gmo", kLocked, *ms);
      if (auto ms = probe_->list_child_properties_ms()) results_.add(n, "lcp", kLocked, *ms);
      if (auto ms = probe_->get_state_ms(child_name(i % n))) results_.add(n, "get", kLocked, *ms);
    }
    measure_status(*peer, n, kLocked);
    // The floor of every status row: mlockctl starting and exiting without asking
    // anything (dynamic linking of libstdc++ and sdbus-c++), as the client pays it.
    SpawnOptions version;
    version.argv = {programs_.mlockctl, "--version"};
    version.env = base_environment("");
    for (int t = 0; t < plan_.status_trials && !interrupted(); ++t) {
      const double ms = peers::run(version).ms;
      for (const char* row : {"status all", "status one", "status --json"})
        results_.add(n, row, kFloor, ms);
    }
  } catch (const std::exception& e) {
    results_.notes.push_back(kLocked + " on the bus at " + std::to_string(n) + ": " + e.what());
  }
  stop_peer(*peer, dir, kLocked);
  std::filesystem::remove_all(dir);
}

}  // namespace duende::peers
