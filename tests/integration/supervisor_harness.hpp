// Drives the real mlock-supervisor binary for an integration test: a private temporary
// directory (main config, conf.d, runtime directory), the daemon started with its stderr
// in a file and NOTIFY_SOCKET pointing at a socket the test owns, and helpers that wait,
// with generous deadlines, for what the daemon logs and tells "systemd".
//
// Timing: every wait polls (every 10 ms) up to kDeadline and reports failure only when the
// deadline passes, so a slow machine makes tests slower, never red. Tests assert on the
// order of events, never on durations.
//
// Teardown (the destructor): SIGTERM to the daemon, SIGKILL if it is still there after
// kDeadline, then SIGKILL to every child it started that is still alive (by the pids it
// logged, checked against /proc/PID/exe so a recycled pid is never hit), then the
// temporary directory goes. When the test failed (or MLOCK_IT_SHOW_LOG is set), the
// daemon's log and the notifications are printed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace duende::itest {

using Json = nlohmann::json;

inline constexpr std::chrono::milliseconds kDeadline{20000};

// Paths of the programs under test, from the build (compile definitions).
inline constexpr const char* kSupervisorBin = MLOCK_SUPERVISOR_BIN;
inline constexpr const char* kTestChildBin = MLOCK_TEST_CHILD_BIN;
inline constexpr const char* kPreloadLib = MLOCK_PRELOAD_LIB;
// Where an installed shim would be (the daemon's default --preload).
inline constexpr const char* kPreloadInstalled = MLOCK_PRELOAD_INSTALLED_PATH;
inline constexpr const char* kVersion = MLOCK_VERSION;

// A child definition running test-child with `args`, with fast test timings and without
// the preload shim (it cannot load into sanitizer builds; test-child locks through the
// library with --lock). Tests adjust fields as needed.
Json test_child(const std::vector<std::string>& args);

// test_child(args) that needs no lock (so it runs the same in sanitizer builds) and is
// ready by `ready` ("exec" or "notify"): for tests where only starts and exits matter.
Json unlocked_child(const std::vector<std::string>& args, const std::string& ready);

// Result of a program run to completion.
struct RunResult {
  int exit_code = -1;  // -N when killed by signal N
  std::string out;
  std::string err;
};

// One datagram received on the test's own NOTIFY_SOCKET.
struct Notification {
  pid_t sender = 0;  // SCM_CREDENTIALS
  std::string text;
};

// The number written right after the first `marker` in `text` ("restarting in 0.05 s"
// with marker "restarting in " gives 0.05); nullopt when there is none.
std::optional<double> number_after(const std::string& text, const std::string& marker);

// True while process `pid` exists and is not a zombie.
bool process_alive(pid_t pid);

// The pid a program wrote to `path` (test-child's --write-pid), 0 until it did.
pid_t read_pid(const std::string& path);

class Harness {
 public:
  Harness();
  ~Harness();
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  // The test's private directory and the files in it.
  const std::string& dir() const { return dir_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string config_file() const { return path("mlock-supervisor.json"); }
  std::string dropin_dir() const { return path("conf.d"); }
  std::string runtime_dir() const { return path("run"); }
  // Where the daemon binds its children's notify socket.
  std::string children_socket() const { return runtime_dir() + "/notify"; }
  // A system bus address where no bus listens: the daemon's default, so it never
  // connects to the host's bus.
  std::string no_bus_address() const { return "unix:path=" + path("no-bus"); }

  // The main configuration, written by start() and write_config(). It starts out with a
  // fast monitor, no children, and a self-lock that is required only when the daemon can
  // lock itself (root; its VmLck is above the 8 MiB memlock limit).
  Json config;
  void write_config() const;
  void write_file(const std::string& path, const std::string& text) const;

  struct Launch {
    std::optional<long> watchdog_usec;  // sets WATCHDOG_USEC and WATCHDOG_PID (the daemon's)
    bool drop_ipc_lock = false;         // exec the daemon without CAP_IPC_LOCK at all
    bool write_config = true;           // write `config` to config_file() first
    // DBUS_SYSTEM_BUS_ADDRESS for the daemon (and run_cli()); by default no_bus_address(),
    // so no test ever reaches the host's system bus.
    std::optional<std::string> bus_address;
    // The daemon's stderr on the FIFO at this path instead of the log file (its stdout
    // still goes there): made if absent, opened read-write so the open never waits for a
    // reader, and read only by read_stderr_fifo(), so a test can stop reading it.
    std::optional<std::string> stderr_fifo;
    // Run the daemon in a mount namespace of its own with every cgroup2 mount taken away
    // (needs root): a host without a usable cgroup v2 hierarchy, for real.
    bool without_cgroup2 = false;
    // --preload VALUE; nullopt: no --preload, the daemon finds the shim itself (the
    // installed one, or the build tree's), as when an operator runs it from the build tree.
    std::optional<std::string> preload_option = kPreloadLib;
    // More NAME=VALUE entries for the daemon's environment.
    std::vector<std::string> extra_environment;
  };
  // Starts mlock-supervisor --config config_file() --config-dir dropin_dir() --preload the
  // shim, in a clean environment with RUNTIME_DIRECTORY, NOTIFY_SOCKET and
  // DBUS_SYSTEM_BUS_ADDRESS set. Once the daemon started before has exited (and
  // wait_exit() saw it), it may be started again: same directory, the log appended to.
  void start(const Launch& launch);
  void start() { start(Launch{}); }
  pid_t pid() const { return pid_; }
  void send_signal(int signo) const;
  // Waits for the daemon to exit; its exit code (-N for signal N), nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds deadline = kDeadline);
  // SIGTERM and wait_exit().
  std::optional<int> stop();

  // Calls `predicate` every 10 ms until it returns true or `deadline` passes; returns its
  // last answer; gives up early (with the predicate's answer) once the daemon has exited.
  // Notifications are drained meanwhile: an unread datagram socket holds only
  // net.unix.max_dgram_qlen (10) datagrams, and then the daemon's sd_notify() blocks.
  bool wait_until(const std::function<bool()>& predicate,
                  std::chrono::milliseconds deadline = kDeadline);
  // Called at every poll of wait_until() (and so of every wait and pause), before the
  // predicate: e.g. where a test that is a child subreaper reaps its orphans.
  std::function<void()> on_poll;
  // Lets `ms` milliseconds pass (draining notifications): only to give something that
  // must NOT happen a chance to happen.
  void pause(long ms);

  // Runs mlock-supervisor with `args` to completion, in the same environment as start().
  RunResult run_cli(const std::vector<std::string>& args) const;

  // Everything written to the daemon's stderr (and its children's, when they inherit it):
  // the log file, then what read_stderr_fifo() has read so far.
  std::string log_text() const;
  // With Launch::stderr_fifo: reads what is in the FIFO now, without waiting, and adds it
  // to log_text(); returns the bytes read. The destructor reads it too (for the pids).
  std::string read_stderr_fifo();
  // The daemon's own lines ("<N>message"), in order.
  std::vector<std::string> daemon_lines() const;
  // How many daemon lines contain `needle`.
  int count(const std::string& needle) const;
  // The index in daemon_lines() of the `nth` (1-based) line containing `needle`, or -1.
  int line_index(const std::string& needle, int nth = 1) const;
  // Waits until at least `n` daemon lines contain `needle`.
  bool wait_for_log(const std::string& needle, int n = 1);

  // The pids of child `name`, in start order, from "NAME: started, pid N".
  std::vector<pid_t> child_pids(const std::string& name) const;
  // Waits for the `nth` start of `name`; its pid, or 0 on timeout.
  pid_t wait_child_pid(const std::string& name, int nth = 1);

  // Every datagram received so far on the test's NOTIFY_SOCKET, in order of arrival.
  const std::vector<Notification>& notifications();
  // Index of the first notification at or after `from` whose text contains `needle`, -1.
  int find_notification(const std::string& needle, std::size_t from = 0);
  // Waits for a notification containing `needle` at or after index `from`; its index or -1.
  int wait_for_notification(const std::string& needle, std::size_t from = 0);
  // The value of the last STATUS= received, "" if none.
  std::string last_status();
  // Waits until the last STATUS= contains `needle`.
  bool wait_for_status(const std::string& needle);

 private:
  std::vector<std::string> environment(bool with_notify_socket) const;
  // Reaps the daemon if it has exited; true once it has.
  bool reap();
  void drain_notifications();
  void kill_leftover_children() const;

  std::string dir_;
  std::string bus_address_;  // DBUS_SYSTEM_BUS_ADDRESS given to the daemon
  int sink_fd_ = -1;
  int fifo_fd_ = -1;       // our own reading end of Launch::stderr_fifo, non-blocking
  std::string fifo_text_;  // what read_stderr_fifo() has read
  pid_t pid_ = 0;
  std::optional<int> exit_code_;
  std::vector<Notification> notifications_;
};

}  // namespace duende::itest
