// Children outlive the supervisor: after a SIGKILL a new supervisor on the same runtime
// directory adopts the children still running (same pids, still locked, no second copy),
// restarts the one whose definition changed meanwhile, stops the one no longer
// configured, never touches a process that merely has a recorded pid, and shrugs off a
// garbage state directory; SIGUSR2 re-executes it in place, its children staying its own.
//
// This test program makes itself a child subreaper, so the children of a SIGKILLed
// supervisor come to it (not to PID 1, which on some machines reaps nobody), and reaps
// them, by their pids only (the harness waits for the daemon itself): only a reaped
// process has an exit status the next supervisor can read from its pidfd.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "privilege.hpp"
#include "proc_peek.hpp"
#include "supervisor_harness.hpp"

extern char** environ;

namespace duende::itest {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Field `n` (1-based, n >= 3) of /proc/PID/stat, counted after the ')' ending the name;
// nullopt when the process is gone.
std::optional<std::uint64_t> stat_field(pid_t pid, int n) {
  const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  for (int i = 3; i <= n; ++i)
    if (!(fields >> field)) return std::nullopt;
  try {
    return std::stoull(field);
  } catch (const std::exception&) {
    return std::nullopt;  // field 3, the state letter
  }
}

pid_t parent_of(pid_t pid) { return static_cast<pid_t>(stat_field(pid, 4).value_or(0)); }
std::uint64_t start_time_of(pid_t pid) { return stat_field(pid, 22).value_or(0); }

bool runs_test_child(pid_t pid) {
  std::error_code ec;
  static const fs::path child_exe = fs::canonical(kTestChildBin);
  return fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec) == child_exe && !ec;
}

// The pids of the processes (zombies too) whose parent is `parent`.
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(name);
    if (parent_of(pid) == parent) out.push_back(pid);
  }
  return out;
}

// Running copies of test-child that are ours: the daemon's children and our orphans (the
// machine may run other tests' test-children meanwhile).
int our_test_children(const Harness& h) {
  int n = 0;
  for (const pid_t parent : {getpid(), h.pid()})
    for (const pid_t pid : children_of(parent))
      if (runs_test_child(pid) && process_alive(pid)) ++n;
  return n;
}

// This process as the child subreaper, reaping the daemon's orphans by their pids (those
// the daemon logged as started), at every poll of the harness and, for whatever is left,
// at the end: a test-child still running then is killed. Declared before the Harness, so
// that it outlives the harness's teardown, which polls while the daemon stops.
class Orphans {
 public:
  Orphans() {
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
      throw std::runtime_error("prctl PR_SET_CHILD_SUBREAPER: " + std::string(strerror(errno)));
  }
  ~Orphans() {
    // The harness is gone (its daemon reaped): every child of ours left is an orphan.
    std::set<pid_t> left(known_.begin(), known_.end());
    for (const pid_t pid : children_of(getpid())) left.insert(pid);
    for (const pid_t pid : left) {
      if (reaped_.count(pid) || excluded_.count(pid)) continue;
      if (runs_test_child(pid) && parent_of(pid) == getpid()) kill(pid, SIGKILL);
      const auto end = Clock::now() + kDeadline;
      int status = 0;
      while (waitpid(pid, &status, WNOHANG) == 0 && Clock::now() < end)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    prctl(PR_SET_CHILD_SUBREAPER, 0);
  }
  Orphans(const Orphans&) = delete;
  Orphans& operator=(const Orphans&) = delete;

  // From now on, every poll of `h` reaps.
  void watch(Harness& h) {
    h.on_poll = [this, &h] { reap(h); };
  }
  // A child of ours that is none of the daemon's: never reaped here.
  void exclude(pid_t pid) { excluded_.insert(pid); }
  // An orphan left unreaped (a zombie once it ends) until the end or release().
  void hold(pid_t pid) { held_.insert(pid); }
  void release(pid_t pid) { held_.erase(pid); }

  // Reaps those of the daemon's children that have become ours and ended.
  void reap(const Harness& h) {
    for (const auto& line : h.daemon_lines())
      if (const auto pid = number_after(line, ": started, pid "))
        known_.insert(static_cast<pid_t>(*pid));
    for (const pid_t pid : known_) {
      if (pid == h.pid() || reaped_.count(pid) || excluded_.count(pid) || held_.count(pid))
        continue;
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) reaped_[pid] = status;
    }
  }
  // The wait status of an orphan reaped here, nullopt if none was.
  std::optional<int> status_of(pid_t pid) const {
    const auto it = reaped_.find(pid);
    return it == reaped_.end() ? std::nullopt : std::optional<int>(it->second);
  }

  // Waits (reaping) until none of `pids` is alive; also after the daemon has exited.
  bool wait_gone(const Harness& h, const std::vector<pid_t>& pids) {
    const auto end = Clock::now() + kDeadline;
    while (true) {
      reap(h);
      bool any = false;
      for (const pid_t pid : pids) any = any || process_alive(pid);
      if (!any) return true;
      if (Clock::now() >= end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

 private:
  std::set<pid_t> known_;
  std::set<pid_t> excluded_;
  std::set<pid_t> held_;
  std::map<pid_t, int> reaped_;
};

// A process of the test's own, unrelated to the daemon: `sleep`, killed and reaped at the
// latest when this goes.
class Sleeper {
 public:
  Sleeper() {
    char prog[] = "/bin/sleep", arg[] = "600";
    char* argv[] = {prog, arg, nullptr};
    if (const int e = posix_spawn(&pid_, prog, nullptr, nullptr, argv, environ); e != 0)
      throw std::runtime_error("posix_spawn sleep: " + std::string(strerror(e)));
  }
  ~Sleeper() { end(); }
  Sleeper(const Sleeper&) = delete;
  Sleeper& operator=(const Sleeper&) = delete;
  pid_t pid() const { return pid_; }
  // True while it runs and has not been stopped (state R or S).
  bool running_untouched() const {
    const std::string stat = read_text("/proc/" + std::to_string(pid_) + "/stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos || close + 2 >= stat.size()) return false;
    return stat[close + 2] == 'S' || stat[close + 2] == 'R';
  }
  // Whether it was still running, so that our SIGKILL was what ended it.
  bool end_by_our_kill() {
    if (pid_ <= 0) return false;
    int status = 0;
    const bool was_running = waitpid(pid_, &status, WNOHANG) == 0;
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = 0;
    return was_running && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  }

 private:
  void end() {
    if (pid_ > 0) end_by_our_kill();
  }
  pid_t pid_ = 0;
};

bool can_lock() { return test::cannot_lock_reason() == nullptr; }

// Whether process `pid` has its SIGTERM handler installed (SigCgt of /proc/PID/status): a
// child ready at exec may be stopped before its main() ran, and then dies of the signal.
bool catches_sigterm(pid_t pid) {
  std::istringstream in(read_text("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("SigCgt:", 0) == 0)
      return (std::stoull(line.substr(7), nullptr, 16) >> (SIGTERM - 1)) & 1u;
  return false;
}

// VmLck > 0, where this build can lock at all.
bool locked_if_it_can(pid_t pid) { return !can_lock() || test::vm_lck(pid) > 0; }

// A child that locks (ready once locked) where this build can lock; elsewhere (ASan) one
// that is ready at exec, and the lock checks are left out.
Json supervised_child(std::vector<std::string> args = {}) {
  if (!can_lock()) return unlocked_child(args, "exec");
  args.insert(args.begin(), "--lock");
  return test_child(args);
}

class SupervisorAdoption : public testing::Test {
 protected:
  void SetUp() override { orphans.watch(h); }

  std::string state_file(const std::string& name) const {
    return h.runtime_dir() + "/state/" + name + ".json";
  }
  // The record of child `name` in the state directory; null when unreadable.
  Json record(const std::string& name) const {
    return Json::parse(read_text(state_file("child." + name)), nullptr, false);
  }
  // Waits until the state file says child `name` runs as `pid`: what a supervisor
  // starting now would find.
  bool wait_recorded_running(const std::string& name, pid_t pid) {
    return h.wait_until([&] {
      const Json r = record(name);
      return r.is_object() && r.value("pid", 0) == pid && r.value("state", "") == "running";
    });
  }
  // Starts the daemon, waits until `names` run, are ready and are recorded so; their pids.
  std::map<std::string, pid_t> start_and_wait(const std::vector<std::string>& names) {
    h.start();
    std::map<std::string, pid_t> pids;
    for (const auto& name : names) {
      const pid_t pid = h.wait_child_pid(name);
      EXPECT_GT(pid, 0) << name << " did not start";
      EXPECT_TRUE(h.wait_for_log(name + ": ready")) << name;
      EXPECT_TRUE(wait_recorded_running(name, pid)) << name << " not recorded as running";
      pids[name] = pid;
    }
    return pids;
  }
  void kill_supervisor() {
    h.send_signal(SIGKILL);
    EXPECT_EQ(h.wait_exit(), -SIGKILL);
  }
  // VmLck of `name`'s "adopted pid N (…, VmLck X KiB)" line; -1 when there is none.
  long adopted_kib(const std::string& name, pid_t pid) const {
    const std::string marker = name + ": adopted pid " + std::to_string(pid) + " (running, VmLck ";
    for (const auto& line : h.daemon_lines())
      if (const auto kib = number_after(line, marker)) return static_cast<long>(*kib);
    return -1;
  }

  Orphans orphans;  // first: outlives the harness's teardown
  Harness h;
};

TEST_F(SupervisorAdoption, ASigkilledSupervisorsChildrenAreAdoptedByTheNextOne) {
  h.config["children"]["a"] = supervised_child();
  h.config["children"]["b"] = supervised_child();
  auto pids = start_and_wait({"a", "b"});
  ASSERT_FALSE(HasFailure());
  const pid_t a = pids["a"], b = pids["b"];

  kill_supervisor();
  // The children run on, ours now (the subreaper), still locked.
  for (const pid_t pid : {a, b}) {
    EXPECT_TRUE(process_alive(pid));
    EXPECT_EQ(parent_of(pid), getpid());
    EXPECT_TRUE(locked_if_it_can(pid));
  }
  const int lines_before = static_cast<int>(h.daemon_lines().size());

  h.start();
  ASSERT_TRUE(h.wait_for_log("restarted: adopted 2 running children"));
  EXPECT_GT(h.line_index("restarted: adopted"), lines_before);
  EXPECT_GE(adopted_kib("a", a), can_lock() ? 1 : 0);
  EXPECT_GE(adopted_kib("b", b), can_lock() ? 1 : 0);
  // Given time to start a second copy, it does not.
  h.pause(300);
  EXPECT_EQ(h.child_pids("a"), std::vector<pid_t>{a});
  EXPECT_EQ(h.child_pids("b"), std::vector<pid_t>{b});
  EXPECT_EQ(our_test_children(h), 2);
  EXPECT_EQ(h.count("not adopting"), 0);
  EXPECT_EQ(h.count("definition changed"), 0);

  // An adopted child that dies: reaped by us, its end read from its pidfd; restarted as a
  // real child of the new supervisor.
  ASSERT_EQ(kill(a, SIGKILL), 0);
  ASSERT_TRUE(h.wait_for_log("a: killed by signal KILL"));
  EXPECT_TRUE(orphans.status_of(a).has_value());
  const pid_t a2 = h.wait_child_pid("a", 2);
  ASSERT_GT(a2, 0);
  EXPECT_NE(a2, a);
  ASSERT_TRUE(h.wait_for_log("a: ready", 2));
  EXPECT_EQ(parent_of(a2), h.pid());
  EXPECT_TRUE(locked_if_it_can(a2));
  EXPECT_TRUE(process_alive(b));
  EXPECT_EQ(our_test_children(h), 2);
  // Its SIGTERM handler in place, so that its end below is an exit with status 0.
  ASSERT_TRUE(h.wait_until([&] { return catches_sigterm(a2); }));

  EXPECT_EQ(h.stop(), 0);
  EXPECT_TRUE(orphans.wait_gone(h, {a, a2, b}));
  EXPECT_EQ(h.count("b: stopped (exited with status 0)"), 1);  // its real status
  EXPECT_EQ(h.count("a: stopped (exited with status 0)"), 1);
  EXPECT_EQ(h.count("status unknown"), 0);
  EXPECT_EQ(our_test_children(h), 0);
  // Every child stopped: nothing for a next supervisor to adopt.
  EXPECT_FALSE(fs::exists(state_file("child.a")));
  EXPECT_FALSE(fs::exists(state_file("child.b")));
  EXPECT_TRUE(
      Json::parse(read_text(state_file("supervisor")), nullptr, false).value("clean", false));
}

// Nobody reaps the adopted child (as where PID 1 reaps no orphans): the kernel keeps no
// exit status for it, and the supervisor says so rather than invent one, and restarts it.
TEST_F(SupervisorAdoption, AnAdoptedChildsEndThatNobodyReapedIsUnknownNotInvented) {
  h.config["children"]["a"] = supervised_child();
  auto pids = start_and_wait({"a"});
  ASSERT_FALSE(HasFailure());
  const pid_t a = pids["a"];
  kill_supervisor();
  h.start();
  ASSERT_TRUE(h.wait_for_log("restarted: adopted 1 running children"));
  orphans.hold(a);
  ASSERT_EQ(kill(a, SIGKILL), 0);
  ASSERT_TRUE(h.wait_for_log("a: exited, status unknown (adopted, and the kernel kept none)"));
  EXPECT_EQ(h.count("a: killed by signal"), 0);
  const pid_t a2 = h.wait_child_pid("a", 2);
  ASSERT_GT(a2, 0);
  EXPECT_TRUE(h.wait_for_log("a: ready", 2));
  // It was a zombie all along, ours to reap.
  orphans.release(a);
  EXPECT_TRUE(orphans.wait_gone(h, {a}));
  ASSERT_TRUE(orphans.status_of(a).has_value());
  EXPECT_TRUE(WIFSIGNALED(*orphans.status_of(a)) && WTERMSIG(*orphans.status_of(a)) == SIGKILL);
  EXPECT_EQ(h.stop(), 0);
  EXPECT_TRUE(orphans.wait_gone(h, {a2}));
}

// The supervisor dies after a child locked and reported it, before it read the report: the
// report is lost with the old notify socket, and the state file says "starting". The next
// supervisor sees the lock (VmLck in its "adopted" line), and the child is ready: /proc
// is the proof, as libduende-mlock never sends a second report. (Before the fix it was
// killed at its start timeout.)
TEST_F(SupervisorAdoption, AStartingChildThatLockedMeanwhileIsReadyOnceAdopted) {
  DUENDE_REQUIRE_LOCKING();
  const std::string gate = h.path("lock-gate");
  Json c = test_child({"--lock-when", gate});
  c["start_timeout_sec"] = 1.5;
  h.config["children"]["a"] = c;
  h.start();
  const pid_t a = h.wait_child_pid("a");
  ASSERT_GT(a, 0);
  // Polled from before the first save: until then there is no file (and no object).
  ASSERT_TRUE(h.wait_until([&] {
    const Json r = record("a");
    return r.is_object() && r.value("state", "") == "starting";
  }));
  // Stopped, the supervisor reads nothing: the child's report waits in its socket.
  h.send_signal(SIGSTOP);
  h.write_file(gate, "");
  ASSERT_TRUE(h.wait_until([&] { return test::vm_lck(a) > 0; }));
  kill_supervisor();

  h.start();
  ASSERT_TRUE(h.wait_for_log("restarted: adopted 1 running children"));
  EXPECT_GE(number_after(h.log_text(), "a: adopted pid " + std::to_string(a) + " (starting, VmLck ")
                .value_or(0),
            1);
  EXPECT_TRUE(h.wait_for_log("a: ready"));
  // Past its start timeout, it is still the same process.
  h.pause(2000);
  EXPECT_EQ(h.count("a: failed to start"), 0);
  EXPECT_EQ(h.child_pids("a"), std::vector<pid_t>{a});
  EXPECT_EQ(h.stop(), 0);
  EXPECT_TRUE(orphans.wait_gone(h, {a}));
}

TEST_F(SupervisorAdoption, ADefinitionChangedWhileDownRestartsThatChildOnly) {
  h.config["children"]["same"] = supervised_child();
  h.config["children"]["changed"] = supervised_child();
  h.config["children"]["removed"] = supervised_child();
  auto pids = start_and_wait({"same", "changed", "removed"});
  ASSERT_FALSE(HasFailure());
  kill_supervisor();

  h.config["children"]["changed"] = supervised_child({"--sleep-forever"});
  h.config["children"].erase("removed");
  h.start();
  ASSERT_TRUE(
      h.wait_for_log("restarted: adopted 2 running children (1 restarted: definition changed)"));
  EXPECT_EQ(h.count("changed: its definition changed while the supervisor was down; restarting"),
            1);
  EXPECT_EQ(h.count("removed: no longer in the configuration; stopping it"), 1);

  const pid_t changed2 = h.wait_child_pid("changed", 2);
  ASSERT_GT(changed2, 0);
  EXPECT_NE(changed2, pids["changed"]);
  ASSERT_TRUE(h.wait_for_log("changed: ready", 2));
  EXPECT_NE(read_text("/proc/" + std::to_string(changed2) + "/cmdline").find("--sleep-forever"),
            std::string::npos);
  EXPECT_TRUE(locked_if_it_can(changed2));
  EXPECT_TRUE(orphans.wait_gone(h, {pids["changed"], pids["removed"]}));
  EXPECT_TRUE(h.wait_for_log("removed: stopped (exited with status 0)"));
  EXPECT_TRUE(h.wait_until([&] { return !fs::exists(state_file("child.removed")); }));

  // The unchanged one was kept: the same process, never started again.
  EXPECT_EQ(h.child_pids("same"), std::vector<pid_t>{pids["same"]});
  EXPECT_TRUE(process_alive(pids["same"]));
  EXPECT_EQ(h.count("same: stopped"), 0);
  EXPECT_EQ(our_test_children(h), 2);
  EXPECT_EQ(h.stop(), 0);
  EXPECT_TRUE(orphans.wait_gone(h, {pids["same"], changed2}));
}

TEST_F(SupervisorAdoption, ARecordedPidNowAnotherProcessIsNotAdoptedNorSignalled) {
  h.config["children"]["kept"] = supervised_child();
  h.config["children"]["moved"] = supervised_child();
  auto pids = start_and_wait({"kept", "moved"});
  ASSERT_FALSE(HasFailure());
  kill_supervisor();
  // "moved" ends while no supervisor runs; its pid is now (as far as the record can tell)
  // that of a process of ours: the real record, with only the pid changed.
  ASSERT_EQ(kill(pids["moved"], SIGKILL), 0);
  ASSERT_TRUE(orphans.wait_gone(h, {pids["moved"]}));
  Sleeper stranger;
  orphans.exclude(stranger.pid());
  ASSERT_TRUE(h.wait_until([&] { return start_time_of(stranger.pid()) != 0; }));
  Json r = record("moved");
  ASSERT_TRUE(r.is_object());
  r["pid"] = stranger.pid();
  if (r["start_time"].get<std::uint64_t>() == start_time_of(stranger.pid()))
    r["start_time"] = start_time_of(stranger.pid()) - 1;  // started in the same tick
  h.write_file(state_file("child.moved"), r.dump(1) + "\n");

  h.start();
  ASSERT_TRUE(h.wait_for_log("restarted: adopted 1 running children; gone: moved"));
  const std::string sp = std::to_string(stranger.pid());
  EXPECT_EQ(h.count("moved: not adopting pid " + sp + ": pid " + sp + " is another process now"),
            1);
  EXPECT_EQ(h.count("moved: adopted"), 0);
  EXPECT_EQ(h.count("kept: adopted pid " + std::to_string(pids["kept"])), 1);
  const pid_t moved2 = h.wait_child_pid("moved", 2);
  ASSERT_GT(moved2, 0);
  EXPECT_NE(moved2, stranger.pid());
  ASSERT_TRUE(h.wait_for_log("moved: ready", 2));
  EXPECT_EQ(parent_of(moved2), h.pid());
  EXPECT_TRUE(locked_if_it_can(moved2));
  EXPECT_TRUE(stranger.running_untouched());

  EXPECT_EQ(h.stop(), 0);
  EXPECT_TRUE(orphans.wait_gone(h, {pids["kept"], moved2}));
  // Not even the stop touched it: our SIGKILL is what ends it.
  EXPECT_TRUE(stranger.running_untouched());
  EXPECT_EQ(parent_of(stranger.pid()), getpid());
  EXPECT_TRUE(stranger.end_by_our_kill());
}

TEST_F(SupervisorAdoption, GarbageStateIsIgnoredWithAWarning) {
  h.config["children"]["a"] = supervised_child();
  h.config["children"]["b"] = supervised_child();
  fs::create_directories(h.runtime_dir() + "/state");
  std::mt19937 random(20261201);
  const auto garbage = [&] {
    std::string bytes(700, '\0');
    for (char& c : bytes) c = static_cast<char>(random() & 0xff);
    return bytes;
  };
  h.write_file(state_file("supervisor"), garbage());
  h.write_file(state_file("child.a"), garbage());
  // Valid JSON, no record: as a newer or foreign format might write.
  h.write_file(state_file("child.b"), R"({"format": "mlock-supervisor-state", "version": 1})");

  auto pids = start_and_wait({"a", "b"});
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(h.count("state: supervisor: "), 1);
  EXPECT_EQ(h.count("state: child.a: "), 1);
  EXPECT_EQ(h.count("state: child.b: "), 1);
  for (const auto& line : h.daemon_lines())
    if (line.find("state: ") != std::string::npos) {
      EXPECT_EQ(line.substr(0, 3), "<4>") << line;  // a warning
      EXPECT_NE(line.find("; ignored"), std::string::npos) << line;
    }
  EXPECT_EQ(h.count("adopted"), 0);
  EXPECT_EQ(h.count("not adopting"), 0);
  EXPECT_EQ(h.child_pids("a").size(), 1u);
  EXPECT_EQ(h.child_pids("b").size(), 1u);
  // The garbage is replaced by real records.
  EXPECT_TRUE(h.wait_until([&] {
    return Json::parse(read_text(state_file("supervisor")), nullptr, false).value("pid", 0) ==
           h.pid();
  }));
  EXPECT_EQ(h.stop(), 0);
  EXPECT_TRUE(orphans.wait_gone(h, {pids["a"], pids["b"]}));
}

TEST_F(SupervisorAdoption, Sigusr2ReexecutesInPlaceKeepingItsRealChildren) {
  h.config["children"]["a"] = supervised_child();
  h.config["children"]["b"] = supervised_child();
  auto pids = start_and_wait({"a", "b"});
  ASSERT_FALSE(HasFailure());
  const pid_t supervisor = h.pid();

  h.send_signal(SIGUSR2);
  ASSERT_TRUE(h.wait_for_log("re-executed: adopted 2 running children"));
  EXPECT_LT(h.line_index("re-executing "), h.line_index("re-executed: adopted"));
  EXPECT_NE(h.log_text().find("re-executed, taking over 2 children"), std::string::npos);
  EXPECT_TRUE(process_alive(supervisor));
  EXPECT_FALSE(h.wait_exit(std::chrono::milliseconds(0)).has_value());
  EXPECT_EQ(test::status_field(supervisor, "Threads"), 1u);
  for (const auto& [name, pid] : pids) {
    EXPECT_EQ(h.child_pids(name), std::vector<pid_t>{pid}) << name;
    EXPECT_EQ(parent_of(pid), supervisor) << name;
    EXPECT_GE(adopted_kib(name, pid), can_lock() ? 1 : 0) << name;
    EXPECT_TRUE(locked_if_it_can(pid)) << name;
  }
  EXPECT_TRUE(locked_if_it_can(supervisor));
  EXPECT_EQ(our_test_children(h), 2);

  // Still its real children: it reaps them and knows how they ended.
  ASSERT_EQ(kill(pids["a"], SIGKILL), 0);
  ASSERT_TRUE(h.wait_for_log("a: killed by signal KILL"));
  EXPECT_FALSE(orphans.status_of(pids["a"]).has_value());
  const pid_t a2 = h.wait_child_pid("a", 2);
  ASSERT_GT(a2, 0);
  EXPECT_NE(a2, pids["a"]);
  ASSERT_TRUE(h.wait_for_log("a: ready", 2));
  EXPECT_TRUE(locked_if_it_can(a2));
  EXPECT_EQ(test::status_field(supervisor, "Threads"), 1u);

  EXPECT_EQ(h.stop(), 0);
  EXPECT_TRUE(orphans.wait_gone(h, {a2, pids["b"]}));
  EXPECT_EQ(h.count("status unknown"), 0);
}

}  // namespace
}  // namespace duende::itest
