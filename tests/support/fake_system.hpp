// A hand-written fake of the OS seam (daemon/os/system.hpp) for driving the supervisor's
// core in-process: a clock the test moves itself, processes that exist only as records,
// /proc figures the test sets, and every message to the service manager kept for
// inspection. No process is started, nothing sleeps; a test takes milliseconds.
//
// Time moves only in advance() and run_until(). Both fire the wake-up handler at exactly
// the time the core asked for (wake_at), in order, so timers run at their deadlines.
//
// Process deaths caused by the core (a fatal signal) are delivered as the event loop
// would: not inside signal(), but at the next advance(), run_until() or deliver_pending().
// Deaths the test causes (exit(), kill_by_signal()) are delivered at once.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fake_tools.hpp"
#include "os/system.hpp"

namespace duende::supervisor::test {

class FakeSystem final : public System {
 public:
  // Where the fake clock starts: far from Clock's epoch, so "never happened" ({}) and
  // "now" differ by more than any interval the core uses.
  static constexpr Clock::time_point kStart = Clock::time_point(std::chrono::hours(24));
  static constexpr pid_t kFirstPid = 1000;

  // One spawn() call, successful or not.
  struct SpawnRecord {
    SpawnRequest request;
    std::string log_identifier;
    Clock::time_point at;
    pid_t pid = 0;  // 0 when the spawn failed
  };
  // One signal() call.
  struct SignalRecord {
    pid_t pid = 0;
    int signo = 0;
    bool operator==(const SignalRecord&) const = default;
    friend void PrintTo(const SignalRecord& s, std::ostream* os) {
      *os << "{pid " << s.pid << ", signal " << s.signo << "}";
    }
  };
  // How a process answers a signal other than SIGKILL (SIGKILL always ends it).
  enum class OnSignal {
    Dies,     // ends, killed by that signal
    Ignores,  // keeps running; the test ends it with exit() or kill_by_signal()
  };

  // ---- the clock ----

  Clock::time_point now() override { return now_; }
  void wake_at(Clock::time_point when) override {
    wake_ = when;
    wake_requests_.push_back(when);
  }
  void set_wakeup_handler(std::function<void()> on_wakeup) override {
    on_wakeup_ = std::move(on_wakeup);
  }

  // Moves the clock forward by `step`, running on the way, in time order, every requested
  // wake-up and every scheduled exit that falls within it (each at its exact time; a
  // wake-up requested for the past runs at the current time), and delivering pending
  // process deaths after each. Ties: exits before the wake-up. Ends at now() + step.
  void advance(Clock::duration step) {
    const Clock::time_point target = now_ + step;
    deliver_pending();
    for (;;) {
      const Clock::time_point next = next_event();
      if (next > target) break;
      fire_next_event();
    }
    now_ = target;
  }
  // Advances event by event until `done()` holds or `max_duration` has passed. Returns
  // whether `done()` held; on success now() is the time of the event that made it so.
  bool run_until(const std::function<bool()>& done, Clock::duration max_duration) {
    const Clock::time_point limit = now_ + max_duration;
    deliver_pending();
    while (!done()) {
      const Clock::time_point next = next_event();
      if (next > limit) {
        now_ = limit;
        return done();
      }
      fire_next_event();
    }
    return true;
  }
  // Runs the on_exit callbacks of processes that died since the last delivery, and the
  // answers of helper programs that ended.
  void deliver_pending() {
    tools.deliver();
    while (!pending_deaths_.empty()) {
      const pid_t pid = pending_deaths_.front();
      pending_deaths_.pop_front();
      notify_exit(pid);
    }
  }
  // Every wake_at() argument, in order of the calls.
  const std::vector<Clock::time_point>& wake_requests() const { return wake_requests_; }
  Clock::time_point requested_wake() const { return wake_; }

  // ---- processes ----

  mlock::Result<ProcessHandle, SpawnError> spawn(const SpawnRequest& request,
                                                 const std::string& log_identifier,
                                                 std::function<void()> on_exit) override {
    SpawnRecord record{request, log_identifier, now_, 0};
    if (next_spawn_error_) {
      SpawnError error = std::move(*next_spawn_error_);
      next_spawn_error_.reset();
      spawns_.push_back(std::move(record));
      return mlock::Unexpected(std::move(error));
    }
    const ProcessHandle handle{next_pid_, next_handle_++, start_time_of(next_pid_), ""};
    ++next_pid_;
    record.pid = handle.pid;
    spawns_.push_back(std::move(record));
    Process& p = processes_[handle.pid];
    p.handle = handle.handle;
    p.start_time = handle.start_time;
    p.name = log_identifier;
    p.on_exit = std::move(on_exit);
    init_new_process(p, handle.pid);
    if (exit_new_after_) schedule_exit(handle.pid, now_ + *exit_new_after_, exit_new_status_);
    return handle;
  }
  std::optional<ExitStatus> reap(const ProcessHandle& process) override {
    Process* p = find_handle(process.handle);
    if (!p || p->running || p->reaped) return std::nullopt;
    p->reaped = true;
    if (p->foreign && adopted_unknown_) return ExitStatus{false, 0, false};
    return p->status;
  }
  int signal(const ProcessHandle& process, int signo, int& group_error) override {
    group_error = 0;
    Process* p = find_handle(process.handle);
    signals_.push_back({process.pid, signo});
    if (!p || !p->running) return 0;  // already exiting: ESRCH counts as success
    if (signo == SIGKILL || (p->on_signal == OnSignal::Dies && !p->ignored.count(signo))) {
      end(process.pid, ExitStatus{true, signo});
      pending_deaths_.push_back(process.pid);
    }
    return 0;
  }
  // As the kernel's: the handle is closed and `process` reset to {}.
  void release(ProcessHandle& process, bool kill_if_running) override {
    if (!process.valid()) return;
    ++releases_;
    if (Process* p = find_handle(process.handle)) {
      if (p->running && kill_if_running) {
        end(process.pid, ExitStatus{true, SIGKILL});
        p->reaped = true;
      }
      p->released = true;
    }
    process = {};
  }

  // ---- helper programs and /proc/swaps (fake_tools.hpp) ----

  mlock::Result<int, SpawnError> run_tool(const std::vector<std::string>& argv,
                                          std::function<void(ToolResult)> on_exit) override {
    return tools.run(argv, std::move(on_exit));
  }
  void release_tool(int id, bool kill) override { tools.release(id, kill); }
  mlock::Result<std::string, int> read_proc_swaps() override { return tools.proc_swaps(); }
  FakeTools tools;

  // ---- adoption (a supervisor started after another one) ----

  // A process that runs without this fake having spawned it (as an earlier supervisor's
  // child would), with start time `start_time`: adopt() finds it. Returns its pid.
  pid_t add_running_process(std::uint64_t start_time, std::string name = "") {
    const pid_t pid = next_pid_++;
    Process& p = processes_[pid];
    p.handle = -1;
    p.name = std::move(name);
    p.start_time = start_time;
    init_new_process(p, pid);
    return pid;
  }
  // The start time spawn() gives process `pid` (and adopt() checks).
  static std::uint64_t start_time_of(pid_t pid) { return 5000 + static_cast<std::uint64_t>(pid); }
  mlock::Result<ProcessHandle, std::string> adopt(const Adoption& a,
                                                  std::function<void()> on_exit) override {
    adoptions_.push_back(a);
    const auto it = processes_.find(a.pid);
    if (it == processes_.end() || !it->second.running)
      return mlock::Unexpected("pid " + std::to_string(a.pid) + " is not running");
    if (it->second.start_time != a.start_time)
      return mlock::Unexpected("pid " + std::to_string(a.pid) + " is another process now");
    Process& p = it->second;
    p.handle = next_handle_++;
    p.on_exit = std::move(on_exit);
    p.released = false;
    p.foreign = true;
    return ProcessHandle{a.pid, p.handle, a.start_time, ""};
  }
  const std::vector<Adoption>& adoptions() const { return adoptions_; }
  // Trees: the fake's processes have no cgroup, so each child is its main process alone
  // (the kernel's cgroups are tested against the kernel, tests/integration/tree_test.cpp).
  ProcessTracking process_tracking() override { return {true, "cgroup v2: /fake"}; }
  std::vector<pid_t> processes(const ProcessHandle& process) override { return {process.pid}; }
  mlock::Result<ProcessHandle, std::string> follow(const ProcessHandle&,
                                                   std::function<void()>) override {
    return mlock::Unexpected(std::string("it has no cgroup"));
  }
  std::string cgroup_of(pid_t) override { return ""; }
  std::uint64_t oom_kills(const ProcessHandle& process) override {
    const auto it = processes_.find(process.pid);
    return it == processes_.end() ? 0 : it->second.oom_kills;
  }
  std::string process_name(pid_t pid) override {
    const auto it = processes_.find(pid);
    return it == processes_.end() ? "" : it->second.name;
  }
  // Adopted processes end with an unknown status (as when nobody kept one for us).
  void set_adopted_status_unknown(bool unknown) { adopted_unknown_ = unknown; }
  void keep_across_exec(const ProcessHandle& process, bool keep) override {
    if (keep)
      kept_across_exec_.insert(process.handle);
    else
      kept_across_exec_.erase(process.handle);
  }
  const std::set<int>& kept_across_exec() const { return kept_across_exec_; }
  std::map<std::string, std::string> load_state(std::vector<std::string>&) override {
    return state_files_;
  }
  int save_state(const std::string& key, std::string_view text) override {
    ++state_writes_;
    if (save_state_error_ != 0) return save_state_error_;
    state_files_[key] = std::string(text);
    return 0;
  }
  void remove_state(const std::string& key) override { state_files_.erase(key); }
  // The state directory, key → text; the test may edit it before a new supervisor starts.
  std::map<std::string, std::string>& state_files() { return state_files_; }
  void set_save_state_error(int error) { save_state_error_ = error; }
  unsigned state_writes() const { return state_writes_; }
  std::vector<StoredHandle> take_stored_handles() override {
    std::vector<StoredHandle> out;
    for (const auto& [name, fd] : handed_back_) out.push_back(StoredHandle{name, fd});
    handed_back_.clear();
    return out;
  }
  // What take_stored_handles() returns once.
  void hand_back(std::string name, int fd) { handed_back_.emplace_back(std::move(name), fd); }
  void store_handle(const std::string& name, const ProcessHandle& process) override {
    stored_[name] = process.handle;
  }
  void forget_stored_handle(const std::string& name) override { stored_.erase(name); }
  const std::map<std::string, int>& stored() const { return stored_; }
  void close_handle(int fd) override { closed_handles_.push_back(fd); }
  const std::vector<int>& closed_handles() const { return closed_handles_; }
  std::chrono::system_clock::time_point wall_now() override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000)) +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(now_ - kStart);
  }
  std::string boot_id() override { return boot_id_; }
  void set_boot_id(std::string id) { boot_id_ = std::move(id); }
  pid_t own_pid() override { return own_pid_; }
  void set_own_pid(pid_t pid) { own_pid_ = pid; }

  // The test ends process `pid` (exit status or signal) and its on_exit runs at once.
  void exit(pid_t pid, ExitStatus status) {
    if (!end(pid, status)) return;
    notify_exit(pid);
  }
  void exit(pid_t pid, int code) { exit(pid, ExitStatus{false, code}); }
  void kill_by_signal(pid_t pid, int signo) { exit(pid, ExitStatus{true, signo}); }
  // Process `pid` ends with `status` at time `when` (during advance()).
  void schedule_exit(pid_t pid, Clock::time_point when, ExitStatus status) {
    scheduled_exits_.emplace(std::make_pair(when, exit_sequence_++), std::make_pair(pid, status));
  }
  // Every process spawned from now on ends with `status` `after` its spawn (zero: as soon
  // as the current event is done); nullopt: they run until told otherwise.
  void exit_new_processes_after(std::optional<Clock::duration> after,
                                ExitStatus status = ExitStatus{false, 1}) {
    exit_new_after_ = after;
    exit_new_status_ = status;
  }
  // The next spawn() fails with `error` (e.g. {"exec /x", ENOENT}); later ones succeed.
  void fail_next_spawn(SpawnError error) { next_spawn_error_ = std::move(error); }
  // How processes spawned from now on answer signals (default: they die).
  void set_new_process_on_signal(OnSignal on_signal) { new_process_on_signal_ = on_signal; }
  // Process `pid` survives `signo` (never SIGKILL).
  void ignore_signal(pid_t pid, int signo) { processes_.at(pid).ignored.insert(signo); }

  bool running(pid_t pid) const {
    const auto it = processes_.find(pid);
    return it != processes_.end() && it->second.running;
  }
  bool released(pid_t pid) const {
    const auto it = processes_.find(pid);
    return it != processes_.end() && it->second.released;
  }
  const std::vector<SpawnRecord>& spawns() const { return spawns_; }
  // The spawns whose log identifier (the child's name) is `name`.
  std::vector<SpawnRecord> spawns_of(const std::string& name) const {
    std::vector<SpawnRecord> out;
    for (const auto& s : spawns_)
      if (s.log_identifier == name) out.push_back(s);
    return out;
  }
  // The pid of the last successful spawn for `name`, 0 if none.
  pid_t last_pid(const std::string& name) const {
    for (auto it = spawns_.rbegin(); it != spawns_.rend(); ++it)
      if (it->log_identifier == name && it->pid != 0) return it->pid;
    return 0;
  }
  const std::vector<SignalRecord>& signals() const { return signals_; }
  std::vector<int> signals_to(pid_t pid) const {
    std::vector<int> out;
    for (const auto& s : signals_)
      if (s.pid == pid) out.push_back(s.signo);
    return out;
  }
  unsigned releases() const { return releases_; }

  // ---- /proc ----

  mlock::Result<mlock::ProcessMemory, mlock::InspectError> inspect(pid_t pid) override {
    ++inspect_calls_;
    const Process* p = live(pid);
    if (!p) return mlock::Unexpected(no_such_process(pid));
    mlock::ProcessMemory m = p->memory;
    m.pid = pid;
    m.coverage_checked = m.fully_locked = false;
    m.lockable_mappings = m.unlocked_mappings = 0;
    return m;
  }
  // The smaps walk: what set_detail() gave, else the coverage counts of set_memory()'s
  // figures (lockable_mappings, unlocked_mappings) and its VmSwap as the walk's Swap:.
  mlock::Result<mlock::MemoryDetail, mlock::InspectError> inspect_detail(pid_t pid) override {
    ++coverage_calls_;
    const Process* p = live(pid);
    if (!p) return mlock::Unexpected(no_such_process(pid));
    if (p->detail_error != 0)
      return mlock::Unexpected(
          mlock::InspectError{p->detail_error, "pid " + std::to_string(pid) + ": smaps: refused"});
    if (p->detail) return *p->detail;
    mlock::MemoryDetail d;
    d.pid = pid;
    d.lockable_mappings = p->memory.lockable_mappings;
    d.unlocked_mappings = p->memory.unlocked_mappings;
    d.swapped_bytes = p->memory.swapped_bytes;
    return d;
  }
  // What set_io_flusher() gave, else one thread (the process's own pid and name) without
  // the flags, as every process on a machine whose root lacks CAP_SYS_RESOURCE.
  mlock::Result<mlock::IoFlusherThreads, mlock::InspectError> inspect_io_flusher(
      pid_t pid) override {
    ++io_flusher_calls_;
    const Process* p = live(pid);
    if (!p) return mlock::Unexpected(no_such_process(pid));
    if (p->io_flusher) return *p->io_flusher;
    return mlock::IoFlusherThreads{pid, 1, 0, pid, p->name};
  }
  // What inspect() returns for `pid` from now on.
  void set_memory(pid_t pid, mlock::ProcessMemory memory) { processes_.at(pid).memory = memory; }
  void set_locked_bytes(pid_t pid, std::uint64_t bytes) {
    processes_.at(pid).memory.locked_bytes = bytes;
  }
  // What inspect() returns for processes spawned from now on (default: all zero).
  void set_new_process_memory(mlock::ProcessMemory memory) { new_process_memory_ = memory; }
  unsigned inspect_calls() const { return inspect_calls_; }
  // inspect_detail() calls: smaps walks.
  unsigned coverage_calls() const { return coverage_calls_; }
  unsigned io_flusher_calls() const { return io_flusher_calls_; }
  // What inspect_detail() returns for `pid` from now on (`error`: it fails with that errno).
  void set_detail(pid_t pid, mlock::MemoryDetail detail) {
    detail.pid = pid;
    processes_.at(pid).detail = std::move(detail);
  }
  void set_detail_error(pid_t pid, int error) { processes_.at(pid).detail_error = error; }
  // What inspect_io_flusher() returns for `pid` from now on.
  void set_io_flusher(pid_t pid, mlock::IoFlusherThreads threads) {
    threads.pid = pid;
    processes_.at(pid).io_flusher = std::move(threads);
  }
  // Processes spawned from now on: every one of their `threads` threads carries the flags.
  void set_new_process_io_flusher(bool all, std::uint64_t threads = 1) {
    new_process_io_flusher_ = all ? std::optional<std::uint64_t>(threads) : std::nullopt;
  }
  // What oom_kills() says of `pid`'s cgroup from now on (default 0).
  void set_oom_kills(pid_t pid, std::uint64_t kills) { processes_.at(pid).oom_kills = kills; }

  // ---- the rest ----

  uid_t effective_uid() override { return 0; }  // as the daemon usually runs: root
  std::uint64_t fd_limit() override { return fd_limit_; }
  void set_fd_limit(std::uint64_t limit) { fd_limit_ = limit; }
  std::string user_home(uid_t) override { return ""; }
  void trim_heap() override { ++trim_heap_calls_; }
  unsigned trim_heap_calls() const { return trim_heap_calls_; }

  int notify_service_manager(std::string_view state) override {
    service_messages_.emplace_back(state);
    if (notify_error_ == 0) delivered_messages_.emplace_back(state);
    return notify_error_;
  }
  // The messages that were accepted (sent while no error was set), in order.
  const std::vector<std::string>& delivered_messages() const { return delivered_messages_; }
  std::optional<std::chrono::microseconds> watchdog_period() override { return watchdog_; }
  // Every message sent to the service manager, in order.
  const std::vector<std::string>& service_messages() const { return service_messages_; }
  // The messages that start with `prefix` ("STATUS=", "READY=1").
  std::vector<std::string> service_messages_starting(std::string_view prefix) const {
    std::vector<std::string> out;
    for (const auto& m : service_messages_)
      if (std::string_view(m).substr(0, prefix.size()) == prefix) out.push_back(m);
    return out;
  }
  // What notify_service_manager() returns from now on (0: sent).
  void set_notify_error(int error) { notify_error_ = error; }
  // Read by the supervisor's constructor: set it before.
  void set_watchdog_period(std::optional<std::chrono::microseconds> period) { watchdog_ = period; }

 private:
  struct Process {
    int handle = -1;
    std::string name;
    std::function<void()> on_exit;
    bool running = true;
    bool reaped = false;
    bool released = false;
    bool foreign = false;  // adopted: its status is unknown when adopted_unknown_
    std::uint64_t start_time = 0;
    ExitStatus status;
    mlock::ProcessMemory memory;
    std::optional<mlock::MemoryDetail> detail;
    int detail_error = 0;
    std::optional<mlock::IoFlusherThreads> io_flusher;
    std::uint64_t oom_kills = 0;
    OnSignal on_signal = OnSignal::Dies;
    std::set<int> ignored;
  };

  const Process* live(pid_t pid) const {
    const auto it = processes_.find(pid);
    return it == processes_.end() || !it->second.running ? nullptr : &it->second;
  }
  static mlock::InspectError no_such_process(pid_t pid) {
    return mlock::InspectError{ESRCH, "pid " + std::to_string(pid) + ": no such process"};
  }
  void init_new_process(Process& p, pid_t pid) {
    p.memory = new_process_memory_;
    p.on_signal = new_process_on_signal_;
    if (new_process_io_flusher_)
      p.io_flusher =
          mlock::IoFlusherThreads{pid, *new_process_io_flusher_, *new_process_io_flusher_, 0, ""};
  }
  Process* find_handle(int handle) {
    for (auto& [pid, p] : processes_)
      if (p.handle == handle) return &p;
    return nullptr;
  }
  // Marks `pid` ended with `status`; false when it was not running.
  bool end(pid_t pid, ExitStatus status) {
    const auto it = processes_.find(pid);
    if (it == processes_.end() || !it->second.running) return false;
    it->second.running = false;
    it->second.status = status;
    return true;
  }
  void notify_exit(pid_t pid) {
    Process& p = processes_.at(pid);
    if (p.released || !p.on_exit) return;
    // A copy: the callback may release the process, which must not destroy the
    // function while it runs.
    const std::function<void()> on_exit = p.on_exit;
    on_exit();
  }
  Clock::time_point next_event() const {
    if (!pending_deaths_.empty() || tools.has_pending()) return now_;
    Clock::time_point next = wake_ == Clock::time_point::max() ? wake_ : std::max(wake_, now_);
    if (!scheduled_exits_.empty())
      next = std::min(next, std::max(scheduled_exits_.begin()->first.first, now_));
    return next;
  }
  // Runs the earliest event (see next_event()) and the deaths it caused.
  void fire_next_event() {
    now_ = next_event();
    if (!pending_deaths_.empty() || tools.has_pending()) {
      deliver_pending();
      return;
    }
    if (!scheduled_exits_.empty() && scheduled_exits_.begin()->first.first <= now_) {
      const auto [pid, status] = scheduled_exits_.begin()->second;
      scheduled_exits_.erase(scheduled_exits_.begin());
      exit(pid, status);
    } else {
      wake_ = Clock::time_point::max();
      if (on_wakeup_) on_wakeup_();
    }
    deliver_pending();
  }

  Clock::time_point now_ = kStart;
  Clock::time_point wake_ = Clock::time_point::max();
  std::vector<Clock::time_point> wake_requests_;
  std::function<void()> on_wakeup_;

  pid_t next_pid_ = kFirstPid;
  int next_handle_ = 100;
  std::map<pid_t, Process> processes_;
  std::vector<SpawnRecord> spawns_;
  std::vector<SignalRecord> signals_;
  std::deque<pid_t> pending_deaths_;
  std::map<std::pair<Clock::time_point, std::uint64_t>, std::pair<pid_t, ExitStatus>>
      scheduled_exits_;
  std::uint64_t exit_sequence_ = 0;
  std::optional<Clock::duration> exit_new_after_;
  ExitStatus exit_new_status_{false, 1};
  std::optional<SpawnError> next_spawn_error_;
  OnSignal new_process_on_signal_ = OnSignal::Dies;
  mlock::ProcessMemory new_process_memory_{};
  unsigned releases_ = 0;

  std::vector<Adoption> adoptions_;
  bool adopted_unknown_ = false;
  std::set<int> kept_across_exec_;
  std::map<std::string, std::string> state_files_;
  int save_state_error_ = 0;
  unsigned state_writes_ = 0;
  std::vector<std::pair<std::string, int>> handed_back_;
  std::map<std::string, int> stored_;
  std::vector<int> closed_handles_;
  std::string boot_id_ = "fake-boot";
  pid_t own_pid_ = 1;

  std::vector<std::string> delivered_messages_;
  std::uint64_t fd_limit_ = 1024 * 1024;
  unsigned inspect_calls_ = 0;
  unsigned coverage_calls_ = 0;
  unsigned io_flusher_calls_ = 0;
  std::optional<std::uint64_t> new_process_io_flusher_;
  unsigned trim_heap_calls_ = 0;
  std::vector<std::string> service_messages_;
  int notify_error_ = 0;
  std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace duende::supervisor::test
