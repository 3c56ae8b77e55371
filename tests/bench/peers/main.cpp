// mlock_peers_bench: mlock-supervisor side by side with supervisord, runit and s6 (issue
// 14). Root; run it through scripts/bench, which builds it and installs the peers.
//
//   mlock_peers_bench [--quick] [--json FILE] [--counts 10,100,1000] [--rounds N]
//                     [--idle-seconds S] [--restart-trials N] [--peers a,b,...]
//                     [--work-dir DIR]
//   mlock_peers_bench --self-test     the arithmetic and formats, no peers, no root
//   mlock_peers_bench --dry-run       prints the report of made-up figures
//   mlock_peers_bench --merge A.json B.json… [--json FILE]   one report of several runs
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "bench_run.hpp"
#include "private_bus.hpp"
#include "proc_reader.hpp"
#include "report.hpp"
#include "self_test.hpp"

namespace duende::peers {
namespace {

struct Options {
  Plan plan;
  std::string json = MLOCK_PEERS_DEFAULT_JSON;
  std::string work_dir;
  bool self_test = false, dry_run = false;
  std::vector<std::string> merge;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, ',');)
    if (!part.empty()) out.push_back(part);
  return out;
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "mlock_peers_bench: %s (see the comment at the top of main.cpp)\n", why);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  o.plan.columns = {"supervisord", "runit", "s6", kLocked, kUnlocked};
  bool quick = false;
  std::vector<std::pair<std::string, std::string>> later;  // applied after --quick
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value after " + a).c_str());
      return argv[++i];
    };
    if (a == "--quick")
      quick = true;
    else if (a == "--self-test")
      o.self_test = true;
    else if (a == "--dry-run")
      o.dry_run = true;
    else if (a == "--merge") {
      while (i + 1 < argc && argv[i + 1][0] != '-') o.merge.push_back(argv[++i]);
      if (o.merge.empty()) usage("--merge needs JSON files");
    } else if (a == "--json")
      o.json = next();
    else if (a == "--work-dir")
      o.work_dir = next();
    else if (a == "--counts" || a == "--rounds" || a == "--idle-seconds" ||
             a == "--restart-trials" || a == "--peers")
      later.emplace_back(a, next());
    else
      usage(("unknown option " + a).c_str());
  }
  if (quick) {
    o.plan.counts = {10, 100};
    o.plan.rounds = 2;
    o.plan.idle_seconds = 10;
    o.plan.restart_trials = 8;
    o.plan.status_trials = 3;
    o.plan.dbus_calls = 30;
    o.plan.settle_seconds = 1;
    o.plan.mode = "quick";
  }
  for (const auto& [k, v] : later) {
    if (k == "--counts") {
      o.plan.counts.clear();
      for (const auto& c : split(v)) o.plan.counts.push_back(std::stoi(c));
    } else if (k == "--rounds")
      o.plan.rounds = std::max(1, std::stoi(v));
    else if (k == "--idle-seconds")
      o.plan.idle_seconds = std::stod(v);
    else if (k == "--restart-trials")
      o.plan.restart_trials = std::stoi(v);
    else if (k == "--peers") {
      o.plan.columns.clear();
      for (const auto& p : split(v))
        o.plan.columns.push_back(p == "locked" ? kLocked : p == "unlocked" ? kUnlocked : p);
    }
  }
  return o;
}

Machine describe_machine(const std::string& mode) {
  Machine m;
  m.cores = static_cast<int>(std::thread::hardware_concurrency());
  utsname u{};
  uname(&u);
  m.kernel = u.release;
  std::istringstream cpuinfo(read_text("/proc/cpuinfo"));
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("model name", 0) == 0) {
      m.cpu = line.substr(line.find(':') + 2);
      break;
    }
  char date[64];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  m.date = date;
  m.mode = mode;
  return m;
}

// Every peer, and the daemon, keeps one fd or more per child: 1,000 children need more
// than the usual 1,024. The limit is inherited by everything the benchmark starts.
void raise_fd_limit() {
  rlimit l{};
  getrlimit(RLIMIT_NOFILE, &l);
  l.rlim_cur = l.rlim_max;
  setrlimit(RLIMIT_NOFILE, &l);
}

void add_notes(Results& r, const Programs& programs, const Plan& plan) {
  r.notes.push_back(
      "running = every child has exec'd and said hello (bench-child, a C program that pauses); "
      "the same datagram for every supervisor, so no status polling perturbs any of them");
  r.notes.push_back(
      "locked (mlock-supervisor) = its own verification: the \"NAME: ready\" line "
      "of a child with \"ready\": \"locked\" (lock report and VmLck > 0); the "
      "peers do not lock (n/a)");
  r.notes.push_back(
      "READY=1 / all ready: mlock-supervisor's sd_notify READY=1; s6: "
      "s6-svwait -U -a over every service (notification-fd); supervisord and "
      "runit have no readiness protocol (n/a)");
  r.notes.push_back(
      "own = the root process (supervisord, runsvdir, s6-svscan, mlock-supervisor); "
      "runit's runsv and s6's s6-supervise per child are in supervision PSS");
  r.notes.push_back(
      "idle: CPU time and run count (schedstat) of every supervision process "
      "(not the children) over " +
      format_number(plan.idle_seconds) + " s per peer and count, in " +
      std::to_string(plan.rounds) + " interleaved slices");
  r.notes.push_back(
      "floors: own VmLck = link-floor (links sdbus-c++, libsystemd, "
      "libduende-mlock, libstdc++, calls mlockall); monitor CPU = one pass of "
      "/proc/PID/status reads over N processes, once a second "
      "(monitor_interval_sec 1.0), each pass after a 1 s sleep as the supervisor's round "
      "(CPU time of the pass and its wake-up, median of 11)");
  r.notes.push_back(
      "status: wall time of the command to completion; s6 has no all-services "
      "status: a loop of s6-svstat, one per service; GetManagedObjects, "
      "ListChildProperties and Get: one in-process sdbus-c++ connection, the call "
      "until its reply has arrived (decoding it is the client's); the status rows' floor is "
      "`mlockctl --version` "
      "(the client's own start and exit)");
  r.notes.push_back(
      "footprint and idle without a bus; mlockctl, D-Bus and \"own VmLck, on a "
      "bus\" from a second start of mlock-supervisor (locked) on a private "
      "dbus-daemon");
  for (const auto& c : plan.columns) {
    if (c == "supervisord") r.notes.push_back(make_supervisord(programs)->restart_note());
    if (c == "runit") r.notes.push_back(make_runit(programs)->restart_note());
    if (c == "s6") r.notes.push_back(make_s6(programs)->restart_note());
  }
  r.notes.push_back(make_mlock(programs, true, false)->restart_note());
}

int run_bench(Options o) {
  if (geteuid() != 0) {
    std::fprintf(stderr,
                 "mlock_peers_bench: needs root (the supervisor locks itself; peers "
                 "run as root); --self-test and --dry-run do not\n");
    return 1;
  }
  for (const char* tool : {"supervisord", "runsvdir", "s6-svscan"})
    if (find_program(tool).empty()) {
      std::fprintf(stderr,
                   "mlock_peers_bench: %s is not installed (scripts/bench installs "
                   "supervisor, runit and s6)\n",
                   tool);
      return 1;
    }
  raise_fd_limit();
  // Orphans of a peer (a runsv whose runsvdir is gone) come back here to be reaped.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  install_interrupt_handlers();
  std::string work = o.work_dir;
  if (work.empty()) {
    char tmpl[] = "/tmp/mlock-peers-XXXXXX";
    if (!mkdtemp(tmpl)) return 1;
    work = tmpl;
  }
  std::filesystem::create_directories(work);
  std::filesystem::permissions(work, std::filesystem::perms(0755));
  Programs programs{
      MLOCK_PEERS_CHILD, MLOCK_PEERS_SUPERVISOR, MLOCK_PEERS_MLOCKCTL, MLOCK_PEERS_PRELOAD, "", ""};
  Results results;
  results.machine = describe_machine(o.plan.mode);
  int rc = 0;
  {
    std::unique_ptr<PrivateBus> bus;
    try {
      bus = std::make_unique<PrivateBus>(work, MLOCK_PEERS_BUS_CONF_IN, MLOCK_PEERS_BUS_POLICY);
      programs.bus_address = bus->address();
    } catch (const std::exception& e) {
      results.notes.push_back(std::string("no private bus: ") + e.what());
    }
    add_notes(results, programs, o.plan);
    try {
      BenchRun bench(programs, MLOCK_PEERS_LINK_FLOOR, o.plan, work, results);
      bench.run();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mlock_peers_bench: %s\n", e.what());
      rc = 1;
    }
  }
  if (interrupted()) results.notes.push_back("interrupted: partial results");
  std::printf("%s", report_text(results).c_str());
  std::filesystem::create_directories(std::filesystem::path(o.json).parent_path());
  std::ofstream(o.json) << report_json(results).dump(1) << "\n";
  std::fprintf(stderr, "mlock_peers_bench: JSON written to %s\n", o.json.c_str());
  if (o.work_dir.empty()) std::filesystem::remove_all(work);
  return rc != 0 ? rc : interrupted() ? 130 : 0;
}

}  // namespace
}  // namespace duende::peers

int main(int argc, char** argv) {
  using namespace duende::peers;
  Options o = parse(argc, argv);
  if (o.self_test) return self_test() == 0 ? 0 : 1;
  if (!o.merge.empty()) {
    Results r;
    for (const auto& file : o.merge) merge_json(nlohmann::json::parse(std::ifstream(file)), r);
    std::printf("%s", report_text(r).c_str());
    std::ofstream(o.json) << report_json(r).dump(1) << "\n";
    return 0;
  }
  if (o.dry_run) {
    std::printf("%s", report_text(synthetic_results()).c_str());
    return 0;
  }
  return run_bench(o);
}
