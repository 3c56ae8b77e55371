#include "bench_run.hpp"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <thread>

#include "floors.hpp"
#include "proc_reader.hpp"

namespace duende::peers {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Sleeps `seconds`, giving up early when interrupted.
void pause_for(double seconds) {
  const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(seconds));
  while (Clock::now() < end && !interrupted())
    std::this_thread::sleep_for(
        std::min<Clock::duration>(end - Clock::now(), std::chrono::milliseconds(100)));
}

void check_interrupt() {
  if (interrupted()) throw std::runtime_error("interrupted");
}

}  // namespace

bool interrupted() { return g_interrupted != 0; }

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_interrupted = 1; };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
}

BenchRun::BenchRun(Programs programs, std::string link_floor, Plan plan, std::string work_dir,
                   Results& results)
    : programs_(std::move(programs)),
      link_floor_(std::move(link_floor)),
      plan_(std::move(plan)),
      work_dir_(std::move(work_dir)),
      results_(results) {
  events_ = std::make_unique<Events>(work_dir_ + "/events.sock");
  programs_.bench_socket = events_->socket_path();
  events_->set_give_up(&interrupted);
  // dbus-daemon's socket file exists a moment before it accepts: retry for a while.
  for (int i = 0; !programs_.bus_address.empty() && !probe_; ++i) {
    try {
      probe_ = std::make_unique<DbusProbe>(programs_.bus_address);
    } catch (const sdbus::Error&) {
      if (i >= 100) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

BenchRun::~BenchRun() = default;

std::unique_ptr<Peer> BenchRun::make(const std::string& column, bool on_bus) const {
  if (column == "supervisord") return make_supervisord(programs_);
  if (column == "runit") return make_runit(programs_);
  if (column == "s6") return make_s6(programs_);
  return make_mlock(programs_, column == kLocked, on_bus);
}

std::string BenchRun::fresh_dir(const std::string& column, int n, int round,
                                const std::string& tag) {
  std::string name = column + tag + "-" + std::to_string(n) + "-r" + std::to_string(round);
  std::replace(name.begin(), name.end(), ' ', '-');
  const std::string dir = work_dir_ + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void BenchRun::run() {
  for (int n : plan_.counts) {
    if (interrupted()) break;
    run_count(n);
  }
}

void BenchRun::run_count(int n) {
  const auto& cols = plan_.columns;
  for (int round = 0; round < plan_.rounds && !interrupted(); ++round) {
    for (std::size_t k = 0; k < cols.size() && !interrupted(); ++k)
      run_peer(cols[(k + static_cast<std::size_t>(round)) % cols.size()], n, round);
    if (interrupted()) break;
    measure_floors(n, round);
    if (probe_ && std::find(cols.begin(), cols.end(), kLocked) != cols.end()) measure_bus(n, round);
  }
}

void BenchRun::run_peer(const std::string& column, int n, int round) {
  std::fprintf(stderr, "bench: %d children, round %d: %s\n", n, round + 1, column.c_str());
  auto peer = make(column, false);
  const std::string dir = fresh_dir(column, n, round, "");
  peer->prepare(dir, n);
  events_->reset();
  try {
    measure_startup(*peer, n, column);
    pause_for(plan_.settle_seconds);
    measure_footprint(*peer, n, column, "");
    measure_idle(*peer, n, round, column);
    if (column == kLocked) {
      std::lock_guard lock(events_->mutex());
      last_children_ = events_->child_pids();
    }
    measure_restarts(*peer, n, round, column);
    // mlock-supervisor answers status on the bus: measure_bus() does it.
    if (column != kLocked && column != kUnlocked) measure_status(*peer, n, column);
  } catch (const std::exception& e) {
    results_.notes.push_back(column + " at " + std::to_string(n) + " children, round " +
                             std::to_string(round + 1) + ": " + e.what());
    std::fprintf(stderr, "bench: %s: %s\n", column.c_str(), e.what());
  }
  stop_peer(*peer, dir, column);
  std::filesystem::remove_all(dir);
}

void BenchRun::measure_startup(Peer& peer, int n, const std::string& column) {
  Events& ev = *events_;
  const auto t0 = Clock::now();
  peer.start(ev);
  const auto deadline = t0 + std::chrono::seconds(60 + n / 5);
  const auto un = static_cast<std::size_t>(n);
  if (!ev.wait([&] { return ev.distinct_children() >= un || interrupted(); }, deadline) ||
      interrupted())
    throw std::runtime_error("not every child started");
  {
    std::lock_guard lock(ev.mutex());
    const auto times = ev.hello_times();
    results_.add(n, "start_running", column,
                 ms_between(t0, *std::max_element(times.begin(), times.end())));
  }
  if (peer.locks_children()) {
    // "Locked" as the supervisor knows it: its "ready" line for every child (ready: locked).
    if (!ev.wait([&] { return ev.ready_line_times().size() >= un; }, deadline))
      throw std::runtime_error("not every child was verified locked");
    std::lock_guard lock(ev.mutex());
    const auto times = ev.ready_line_times();
    results_.add(n, "start_locked", column,
                 ms_between(t0, *std::max_element(times.begin(), times.end())));
  }
  if (peer.has_readiness()) {
    if (auto ready = peer.wait_all_ready(ev, deadline))
      results_.add(n, "start_ready", column, ms_between(t0, *ready));
    else
      results_.notes.push_back(column + ": no all-ready seen at " + std::to_string(n));
  }
}

void BenchRun::measure_footprint(Peer& peer, int n, const std::string& column,
                                 const std::string& prefix) {
  const auto own = read_status(peer.root());
  if (!own) throw std::runtime_error("the supervisor is gone");
  results_.add(n, prefix.empty() ? "vmlck" : prefix, column, own->vmlck_kb / 1024.0);
  if (!prefix.empty()) return;
  results_.add(n, "vmrss", column, own->vmrss_kb / 1024.0);
  results_.add(n, "threads", column, static_cast<double>(own->threads));
  std::set<pid_t> children;
  {
    std::lock_guard lock(events_->mutex());
    for (pid_t p : events_->child_pids()) children.insert(p);
  }
  long tree = 0, supervision = 0;
  for (pid_t pid : descendants(peer.root())) {
    const long pss = pss_kb(pid);
    tree += pss;
    if (!children.count(pid)) supervision += pss;
  }
  results_.add(n, "pss", column, tree / 1024.0);
  results_.add(n, "pss_supervision", column, supervision / 1024.0);
}

void BenchRun::measure_idle(Peer& peer, int n, int round, const std::string& column) {
  std::set<pid_t> children;
  {
    std::lock_guard lock(events_->mutex());
    for (pid_t p : events_->child_pids()) children.insert(p);
  }
  std::vector<pid_t> supervision;
  for (pid_t pid : descendants(peer.root()))
    if (!children.count(pid)) supervision.push_back(pid);
  auto sample = [&] {
    std::vector<std::optional<Sched>> s;
    for (pid_t pid : supervision) s.push_back(read_sched(pid));
    return s;
  };
  const double seconds = plan_.idle_seconds / plan_.rounds;
  Window w{n, round + 1, column, "idle", read_loadavg().one, 0};
  const auto before = sample();
  const auto t0 = Clock::now();
  pause_for(seconds);
  check_interrupt();
  const auto after = sample();
  const double elapsed = ms_between(t0, Clock::now()) / 1000;
  w.load_after = read_loadavg().one;
  results_.windows.push_back(w);
  double cpu_ms = 0, runs = 0;
  for (std::size_t i = 0; i < supervision.size(); ++i)
    if (before[i] && after[i]) {
      cpu_ms += static_cast<double>(after[i]->cpu_ns - before[i]->cpu_ns) / 1e6;
      runs += static_cast<double>(after[i]->runs - before[i]->runs);
    }
  results_.add(n, "idle_cpu", column, cpu_ms / elapsed);
  results_.add(n, "idle_wakeups", column, runs / elapsed);
}

void BenchRun::measure_restarts(Peer& peer, int n, int round, const std::string& column) {
  Events& ev = *events_;
  const int trials = (plan_.restart_trials + plan_.rounds - 1) / plan_.rounds;
  for (int k = 0; k < trials && !interrupted(); ++k) {
    // A different victim each time: each has run for longer than runsv's and
    // s6-supervise's one-second guard, so none of them delays the restart.
    const std::string victim = child_name((round * trials + k) % n);
    std::optional<Hello> old;
    std::size_t ready_seen = 0;
    {
      std::lock_guard lock(ev.mutex());
      old = ev.latest(victim);
      ready_seen = ev.ready_lines(victim);
    }
    if (!old || ::kill(old->pid, SIGKILL) != 0) throw std::runtime_error("no victim " + victim);
    const auto killed = Clock::now();
    const auto deadline = killed + std::chrono::seconds(10);
    if (!ev.wait(
            [&] {
              auto h = ev.latest(victim);
              return h && h->pid != old->pid;
            },
            deadline))
      throw std::runtime_error(victim + " was not restarted within 10 s");
    {
      std::lock_guard lock(ev.mutex());
      results_.add(n, "restart_running", column, ms_between(killed, ev.latest(victim)->at));
    }
    if (peer.locks_children()) {
      if (auto at = peer.wait_child_locked(ev, victim, ready_seen, deadline))
        results_.add(n, "restart_locked", column, ms_between(killed, *at));
    }
    reap_exited();
    pause_for(0.1);
  }
}

void BenchRun::measure_status(Peer& peer, int n, const std::string& column) {
  // An s6-svstat loop over 1,000 services is 1,000 programs: fewer trials there.
  const int trials = std::max(1, n >= 1000 ? plan_.status_trials / 2 : plan_.status_trials);
  for (const auto& q : peer.status_queries()) {
    for (int t = 0; t < trials && !interrupted(); ++t) {
      double ms = 0;
      for (const auto& cmd : q.commands) {
        const RunResult r = peers::run(cmd);
        ms += r.ms;
        // mlockctl status exits 3 while a child is in trouble; anything else is a failure.
        if (r.status != 0 && r.status != 3 && !noted_status_exit_) {
          results_.notes.push_back(column + " " + q.figure + ": " + cmd.argv[0] + " exited " +
                                   std::to_string(r.status));
          noted_status_exit_ = true;
        }
      }
      results_.add(n, q.figure, column, ms);
    }
  }
}

void BenchRun::stop_peer(Peer& peer, const std::string& dir, const std::string& column) {
  std::vector<ProcessId> all;
  for (pid_t pid : descendants(peer.root())) all.push_back(identify(pid));
  {
    std::lock_guard lock(events_->mutex());
    for (pid_t pid : events_->child_pids()) all.push_back(identify(pid));
  }
  stop_processes(identify(peer.root()), peer.stop_signal(), all, std::chrono::seconds(30));
  events_->reset();
  // Whatever still works in the peer's directory (a runsv that outlived runsvdir, a
  // child that left its process group) is killed by pid, and said.
  std::vector<ProcessId> left;
  for (pid_t pid : processes_under(dir)) left.push_back(identify(pid));
  if (!left.empty()) {
    results_.notes.push_back(column + ": " + std::to_string(left.size()) +
                             " process(es) left after its stop, killed by pid");
    kill_all(left);
  }
  reap_exited();
}

}  // namespace duende::peers
