// The system bus for D-Bus integration tests: a private dbus-daemon started from
// tests/dbus/system-bus.conf.in (a system-like policy) that includes the project's own
// policy file, with its socket in the test's directory; a client connection for the test
// process (sdbus-c++, as root); real command-line clients (busctl, dbus-send, mlockctl),
// run to completion or in the background, as root or as nobody (setpriv).
//
// Every test gets its own bus and its own daemon: nothing reaches the host's system bus
// (the harness gives the daemon a dead address unless a test passes its bus's address).
//
// Timing: as in supervisor_harness.hpp, every wait polls up to kDeadline and nothing
// asserts on durations; the few waits that use a shorter deadline (for something that
// must happen within dozens of monitor intervals, or never) say why.
#pragma once

#include <gtest/gtest.h>
#include <sdbus-c++/sdbus-c++.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "supervisor_harness.hpp"

namespace duende::itest {

// Paths from the build (compile definitions).
inline constexpr const char* kMlockctlBin = MLOCKCTL_BIN;
inline constexpr const char* kBusConfigTemplate = MLOCK_BUS_CONF_IN;
inline constexpr const char* kBusPolicy = MLOCK_BUS_POLICY;
inline constexpr const char* kInterfaceXml = MLOCK_DBUS_XML;

// The public names (DESIGN.md), spelled out independently of the daemon's sources.
inline constexpr const char* kBusName = "org.duende.MlockSupervisor1";
inline constexpr const char* kManagerPath = "/org/duende/MlockSupervisor1";
inline constexpr const char* kChildPathPrefix = "/org/duende/MlockSupervisor1/child";
inline constexpr const char* kManagerInterface = "org.duende.MlockSupervisor1.Manager";
inline constexpr const char* kChildInterface = "org.duende.MlockSupervisor1.Child";
inline constexpr const char* kObjectManagerInterface = "org.freedesktop.DBus.ObjectManager";
inline constexpr const char* kPropertiesInterface = "org.freedesktop.DBus.Properties";
inline constexpr const char* kErrorPrefix = "org.duende.MlockSupervisor1.Error.";

// The seven child states and the ones that have a process.
inline const std::vector<std::string> kChildStates = {"starting", "running", "backoff", "stopping",
                                                      "stopped",  "failed",  "exited"};
bool state_has_process(const std::string& state);

// Every property of the Child interface with its D-Bus signature.
inline const std::map<std::string, std::string> kChildPropertyTypes = {
    {"Name", "s"},
    {"State", "s"},
    {"Pid", "u"},
    {"IsLocked", "b"},
    {"LockedBytes", "t"},
    {"SwappedBytes", "t"},
    {"ResidentBytes", "t"},
    {"FullyLocked", "b"},
    {"MustBeLocked", "b"},
    {"LockReport", "s"},
    {"Restarts", "u"},
    {"LastExitStatus", "i"},
    {"LastExitCode", "s"},
    {"LastFailure", "s"},
    {"LockLosses", "u"},
    {"ExitedAt", "t"},
    {"StateChangedAt", "t"},
    {"Command", "as"},
    {"SwapDevice", "s"},
    {"SwapState", "s"},
    {"SwapError", "s"},
    {"SwapSizeBytes", "t"},
    {"SwapUsedBytes", "t"},
    {"StartedAt", "t"},
    {"Adopted", "b"},
    {"AdoptedAt", "t"},
    {"UnlockedMappings", "u"},
    {"Processes", "a(usbtt)"},
    {"UnlockedProcesses", "u"},
    {"SwappedShmemBytes", "t"},
    {"ResidentUnlockedBytes", "t"},
    {"MemlockHeadroomBytes", "t"},
    {"Threads", "u"},
    {"IoFlusherThreads", "u"},
    {"IoFlusher", "s"},
    {"WantsIoFlusher", "b"},
    {"OomKills", "u"}};

using Properties = std::map<std::string, sdbus::Variant>;
using InterfaceMap = std::map<std::string, Properties>;
using ManagedObjects = std::map<sdbus::ObjectPath, InterfaceMap>;

// A test-child that stays up with stable memory, ready at exec, not required to lock.
Json idle_child(const std::vector<std::string>& args = {});
// A child whose exec fails ("exec /nonexistent/prog: No such file or directory") and that
// is not restarted: it ends "failed".
Json failing_child();
// A test-child that exits 1 after 50 ms and is restarted at once, without a start limit.
Json crashing_child();
// A test-child that exits 0 after 100 ms and is restarted (always) after 0.05 s, without a
// start limit: a restart cadence to measure supervision by.
Json flapping_child();
// Whether children (and the daemon) can really lock here: root, no sanitizer.
bool can_lock();
// A test-child that locks through the library and is ready once locked (VmLck > 0); where
// nothing can lock (can_lock() false), an idle_child() instead, so the test still runs.
Json locking_child();

// The object path of child `name` (sd_bus_path_encode, as the daemon must do).
std::string child_path(const std::string& name);

// The full path of `program` in the usual system directories, "" when it is not there.
std::string find_program(const std::string& program);

// A private dbus-daemon listening on DIR/bus.sock, configured from the template with
// `policy` as its included policy file. The directory is made 0755 so that other users
// (uid 65534) can reach the socket.
class PrivateBus {
 public:
  PrivateBus(std::string dir, std::string policy = kBusPolicy);
  ~PrivateBus();  // SIGTERM (SIGKILL if need be) and reap
  PrivateBus(const PrivateBus&) = delete;
  PrivateBus& operator=(const PrivateBus&) = delete;

  // Starts dbus-daemon (again, on the same socket path) and returns once it listens
  // (--print-address). Throws std::runtime_error on failure.
  void start();
  // SIGKILL and reap: the bus vanishes without a goodbye, as when it crashes.
  void kill();
  // SIGSTOP / SIGCONT: a bus that is there (its socket accepts) but does not answer, as
  // when dbus-daemon is stuck or swapped out.
  void freeze();
  void thaw();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // DBUS_SYSTEM_BUS_ADDRESS for clients: unix:path=DIR/bus.sock.
  std::string address() const { return "unix:path=" + socket_path(); }
  std::string socket_path() const { return dir_ + "/bus.sock"; }
  // What dbus-daemon wrote to stderr.
  std::string log_text() const;

 private:
  std::string dir_;
  std::string config_;
  pid_t pid_ = 0;
  bool frozen_ = false;
};

// Connects to the bus at `address` (throws sdbus::Error when it cannot), as a system bus
// client: it points this process's DBUS_SYSTEM_BUS_ADDRESS at `address` (so call it from
// the main thread only).
std::unique_ptr<sdbus::IConnection> connect_bus(const std::string& address);

// In a forked child: drops to nobody (uid and gid 65534, no groups) and connects to the
// bus at `address` as a plain sd-bus client; exits 3 (the drop) or 4 (the connection) when
// it cannot. For clients that must be unprivileged.
sd_bus* connect_as_nobody(const std::string& address);

// Whether `name` has an owner on the bus at `address` (false when there is no bus).
bool name_owned(const std::string& address, const std::string& name = kBusName);

// A D-Bus error as a client sees it; empty name on success.
struct CallError {
  std::string name;
  std::string message;
  explicit operator bool() const { return !name.empty(); }
};

// One signal the test subscribed to, decoded by member.
struct SeenSignal {
  std::string path, interface, member;
  // PropertiesChanged
  std::string changed_interface;
  Properties changed;
  std::vector<std::string> invalidated;
  // InterfacesAdded / InterfacesRemoved
  std::string object;
  InterfaceMap added;
  std::vector<std::string> removed;
  // LockLost
  std::string child;
  std::uint64_t locked_bytes = 0, swapped_bytes = 0;
};

// The test process's own connection (root), with the calls tests make.
class BusClient {
 public:
  explicit BusClient(const std::string& address);

  sdbus::IConnection& connection() { return *connection_; }

  // Manager.GetAll, Child.GetAll, ObjectManager.GetManagedObjects.
  Properties manager_properties();
  Properties child_properties(const std::string& name);
  ManagedObjects managed_objects();
  // Manager.ListChildren: (name, state, pid, is_locked, locked_bytes, swapped_bytes).
  std::vector<
      sdbus::Struct<std::string, std::string, std::uint32_t, bool, std::uint64_t, std::uint64_t>>
  list_children();

  // Calls `interface`.`method` on `path` with `args`; the error, if any.
  template <class... Args>
  CallError call(const std::string& path, const std::string& interface, const std::string& method,
                 const Args&... args) {
    return invoke(path, interface, method, [&](sdbus::MethodCall& m) { ((m << args), ...); });
  }
  // A Manager method with one name argument (StartChild, GetChild, …).
  CallError manager_call(const std::string& method, const std::string& name) {
    return call(kManagerPath, kManagerInterface, method, name);
  }

  // Subscribes to every signal from the daemon's objects (PropertiesChanged,
  // InterfacesAdded/Removed, LockLost); process() collects them into seen().
  void subscribe();
  // Handles whatever the connection has queued, without blocking.
  void process();
  std::vector<SeenSignal>& seen() { return seen_; }

 private:
  CallError invoke(const std::string& path, const std::string& interface, const std::string& method,
                   const std::function<void(sdbus::MethodCall&)>& fill);

  std::unique_ptr<sdbus::IConnection> connection_;
  std::unique_ptr<sdbus::IProxy> manager_;
  sdbus::Slot match_;
  std::vector<SeenSignal> seen_;
};

// A value of a property map, checked for presence and type (a test failure otherwise,
// and `T{}`).
template <class T>
T prop(const Properties& props, const std::string& name) {
  const auto it = props.find(name);
  if (it == props.end()) {
    ADD_FAILURE() << "property " << name << " missing";
    return T{};
  }
  if (!it->second.containsValueOfType<T>()) {
    ADD_FAILURE() << "property " << name << " has type " << it->second.peekValueType();
    return T{};
  }
  return it->second.get<T>();
}

// The environment given to command-line clients: PATH, DBUS_SYSTEM_BUS_ADDRESS, C locale,
// sanitizer options passed through.
std::vector<std::string> client_environment(const std::string& bus_address);

// Runs `argv` (argv[0] a path or a program in PATH) to completion with `env`; as uid/gid
// 65534 without supplementary groups (setpriv) when `unprivileged`. Kills it after
// kDeadline. Captures stdout and stderr.
RunResult run_program(std::vector<std::string> argv, const std::vector<std::string>& env,
                      bool unprivileged = false);

// A program left running (mlockctl watch, busctl monitor) with stdout and stderr in a file.
class BackgroundProgram {
 public:
  BackgroundProgram(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                    std::string output_file);
  ~BackgroundProgram();  // stop()
  BackgroundProgram(const BackgroundProgram&) = delete;
  BackgroundProgram& operator=(const BackgroundProgram&) = delete;

  pid_t pid() const { return pid_; }
  // Everything it printed so far.
  std::string output() const;
  // SIGTERM, SIGKILL after a while; its exit code (-N for signal N).
  int stop();

 private:
  pid_t pid_ = 0;
  std::string output_file_;
  std::optional<int> exit_code_;
};

// A test with its own Harness and its own private bus (started in SetUp). Root only: only
// root may own org.duende.MlockSupervisor1 under the project's policy. TearDown stops the
// daemon before the bus, and prints the bus's log when the test failed.
class BusTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts the daemon on the private bus and waits until it owns the name.
  void start_daemon();
  // The test's own connection, made on first use and again after reset_client().
  BusClient& client();
  void reset_client() { client_.reset(); }
  // Waits until `predicate` holds (see Harness::wait_until).
  bool eventually(const std::function<bool()>& predicate,
                  std::chrono::milliseconds deadline = kDeadline) {
    return h.wait_until(predicate, deadline);
  }
  // Waits for child `name` to be in `state` on the bus; its properties then.
  Properties wait_child_state(const std::string& name, const std::string& state);
  // mlockctl / busctl / dbus-send with this bus in the environment.
  RunResult mlockctl(const std::vector<std::string>& args, bool unprivileged = false);
  RunResult busctl(const std::vector<std::string>& args, bool unprivileged = false);
  std::vector<std::string> env() const { return client_environment(bus->address()); }
  // The daemon's Threads: from /proc (0 when it is gone).
  std::uint64_t daemon_threads() const;

  Harness h;
  std::unique_ptr<PrivateBus> bus;

 private:
  std::unique_ptr<BusClient> client_;
};

// `n` processes that each drop to nobody (uid and gid 65534, no groups), connect to the
// bus at `address` and call GetManagedObjects over and over, one call in flight each: the
// read flood anyone on the system bus can cause. Forked from the calling process (make
// them before starting threads); stopped (SIGKILL, reaped) by stop() or the destructor.
class UnprivilegedReaders {
 public:
  UnprivilegedReaders(const std::string& address, int n);
  ~UnprivilegedReaders();
  UnprivilegedReaders(const UnprivilegedReaders&) = delete;
  UnprivilegedReaders& operator=(const UnprivilegedReaders&) = delete;

  // Answers client `i` got so far.
  long answers(int i) const;
  long total_answers() const;
  int size() const { return static_cast<int>(pids_.size()); }
  void stop();

 private:
  std::vector<pid_t> pids_;
  long* answers_ = nullptr;  // shared memory, one counter per client
  int n_ = 0;
};

// Skips the test unless it runs as root.
#define DUENDE_BUS_REQUIRE_ROOT()                                                            \
  if (::geteuid() != 0)                                                                      \
  GTEST_SKIP() << "needs root: only root may own org.duende.MlockSupervisor1 on a bus with " \
                  "the project's policy, and setpriv needs root"

}  // namespace duende::itest
