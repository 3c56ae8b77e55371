// mlockctl: the command-line client of mlock-supervisor, over the system bus.
#include <sdbus-c++/sdbus-c++.h>
#include <systemd/sd-bus.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "api/bus_names.hpp"
#include "api/child_properties.hpp"
#include "api/exit_codes.hpp"
#include "ctl/ctl_format.hpp"
#include "mlock_supervisor1_proxy.h"

namespace {

using duende::supervisor::CtlChild;
using duende::supervisor::CtlReexec;
using duende::supervisor::CtlSnapshot;

using duende::supervisor::kBusName;
using duende::supervisor::kChildInterface;
using duende::supervisor::kChildPathPrefix;
using duende::supervisor::kErrorAccessDenied;
using duende::supervisor::kErrorNameHasNoOwner;
using duende::supervisor::kErrorServiceUnknown;
using duende::supervisor::kErrorSwapBusy;
using duende::supervisor::kExitFailure;
using duende::supervisor::kExitTrouble;
using duende::supervisor::kExitUsage;
using duende::supervisor::kManagerInterface;
using duende::supervisor::kManagerPath;

// A command line mlockctl cannot run: exit 64, checked before anything touches the bus.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr const char* kHelp = R"(Usage: mlockctl [--json] COMMAND [ARG]...

Asks mlock-supervisor, over the system bus (org.duende.MlockSupervisor1), how its
swap-critical children are doing, and tells it what to do.

Commands:
  status [NAME]...    a header (version, state, the supervisor's own lock, when it
                      started, how often since its last clean stop it was restarted
                      after dying and re-executed), then a table of the children:
                      name, state, pid, locked?, VmLck, VmSwap, restarts; then the
                      reason of each failure, and when children were adopted from an
                      earlier supervisor process. Exit status 3 when any (named) child
                      has failed, or must be locked and runs unlocked or with pages in
                      swap
  list                one "NAME STATE PID" line per child
  start NAME          start a child (also clears its start limit); root only
  stop NAME           stop a child; it stays stopped until started. A child whose swap
                      is on has it turned off first (swapoff: waits, at most 6 min);
                      when that fails (e.g. not enough memory to take the pages back)
                      the stop is refused, the child keeps running, and mlockctl says
                      why (exit status 1); root only
  stop --force NAME   stop it even when its swap cannot be turned off: every process
                      with pages on that swap then hangs; root only
  restart NAME        stop and start a child (its swap off first, as stop); root only
  reload              re-read the configuration (as SIGHUP); an invalid one changes
                      nothing and every problem is printed; root only
  reexec              re-execute the supervisor in place (e.g. after an upgrade of its
                      binary): the children keep running and are adopted by the new
                      image, nothing is restarted, the pid stays. The daemon checks the
                      new binary with --check-config first; mlockctl waits (at most
                      60 s) until the new image answers on the bus and prints
                        mlock-supervisor re-executed in place (pid 812, 0.1.0 -> 0.2.0):
                          3 children kept, 3 adopted
                      or, when the re-exec was refused (the running image goes on), why,
                      with exit status 1; root only
  watch               print changes as they happen (PropertiesChanged, children added
                      and removed, LockLost) until interrupted
  metrics             Prometheus text exposition format, for node_exporter's textfile
                      collector, e.g. every minute:
                        mlockctl metrics > /var/lib/node_exporter/mlock.prom.$$ &&
                          mv /var/lib/node_exporter/mlock.prom.$$ /var/lib/node_exporter/mlock.prom
                      Alert on mlock_supervisor_child_in_trouble == 1 or
                      mlock_supervisor_up == 0. When the daemon is not reachable only
                      mlock_supervisor_up 0 is printed (exit status 0)

Options:
  --json              status, list and reexec as one JSON document, for scripts
                      (timestamps in microseconds since the epoch, 0 for none;
                      last_exit_status null when unknown)
  -h, --help          print this help and exit
  --version           print the version and exit

Environment:
  DBUS_SYSTEM_BUS_ADDRESS   the system bus to use (default: the system's)

Exit status:
  0 success; 1 the daemon is not running, access denied, no such child, a re-exec
  refused or not seen within its deadline, or another error; 64 usage error (EX_USAGE,
  as mlock-supervisor); 3 (status) a child is in trouble
)";

// The daemon's manager object, through the proxies generated from the XML.
class ManagerClient final
    : public sdbus::ProxyInterfaces<::org::duende::MlockSupervisor1::Manager_proxy,
                                    sdbus::ObjectManager_proxy, sdbus::Properties_proxy> {
 public:
  // `destination`: the well-known name, or one process's unique name (":1.42").
  explicit ManagerClient(sdbus::IConnection& connection, const std::string& destination = kBusName)
      : ProxyInterfaces(connection, destination, kManagerPath) {
    registerProxy();
  }
  ~ManagerClient() { unregisterProxy(); }
  bool watching = false;
  // Calls Manager method `method`(name) waiting up to `timeout` for the reply (a stop
  // waits for the child's swapoff); a D-Bus error is thrown as sdbus::Error.
  void call_for_child(const char* method, const std::string& name,
                      std::chrono::microseconds timeout) {
    getProxy()
        .callMethod(method)
        .onInterface(kManagerInterface)
        .withTimeout(timeout)
        .withArguments(name);
  }

 private:
  void onLockLost(const std::string& name, const uint64_t& locked,
                  const uint64_t& swapped) override;
  void onSwapBackendLost(const std::string& name, const std::string& device) override;
  void onInterfacesAdded(
      const sdbus::ObjectPath& path,
      const std::map<std::string, std::map<std::string, sdbus::Variant>>&) override;
  void onInterfacesRemoved(const sdbus::ObjectPath& path, const std::vector<std::string>&) override;
  void onPropertiesChanged(const std::string&, const std::map<std::string, sdbus::Variant>&,
                           const std::vector<std::string>&) override {}  // watch uses a match
};

std::string child_name(const std::string& path) {
  char* name = nullptr;
  if (sd_bus_path_decode(path.c_str(), kChildPathPrefix, &name) <= 0 || !name) return path;
  std::string out(name);
  std::free(name);
  return out;
}

std::string now_text() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%H:%M:%S", std::localtime(&t));
  return buf;
}

std::string variant_text(const sdbus::Variant& v) {
  if (v.containsValueOfType<std::string>()) return "\"" + v.get<std::string>() + "\"";
  if (v.containsValueOfType<bool>()) return v.get<bool>() ? "true" : "false";
  if (v.containsValueOfType<uint32_t>()) return std::to_string(v.get<uint32_t>());
  if (v.containsValueOfType<int32_t>()) return std::to_string(v.get<int32_t>());
  if (v.containsValueOfType<uint64_t>()) return std::to_string(v.get<uint64_t>());
  if (v.containsValueOfType<std::vector<std::string>>()) {
    std::string out;
    for (const auto& s : v.get<std::vector<std::string>>()) out += (out.empty() ? "" : " ") + s;
    return "[" + out + "]";
  }
  return "(" + v.peekValueType() + ")";
}

void ManagerClient::onLockLost(const std::string& name, const uint64_t& locked,
                               const uint64_t& swapped) {
  std::printf("%s %s: LOCK LOST (VmLck %llu, VmSwap %llu)\n", now_text().c_str(), name.c_str(),
              static_cast<unsigned long long>(locked), static_cast<unsigned long long>(swapped));
  std::fflush(stdout);
}

void ManagerClient::onSwapBackendLost(const std::string& name, const std::string& device) {
  std::printf("%s %s: DIED WITH SWAP ON %s\n", now_text().c_str(), name.c_str(), device.c_str());
  std::fflush(stdout);
}

void ManagerClient::onInterfacesAdded(
    const sdbus::ObjectPath& path,
    const std::map<std::string, std::map<std::string, sdbus::Variant>>&) {
  std::printf("%s %s: added\n", now_text().c_str(), child_name(path).c_str());
  std::fflush(stdout);
}

void ManagerClient::onInterfacesRemoved(const sdbus::ObjectPath& path,
                                        const std::vector<std::string>&) {
  std::printf("%s %s: removed\n", now_text().c_str(), child_name(path).c_str());
  std::fflush(stdout);
}

template <class T>
T get_or(const std::map<std::string, sdbus::Variant>& props, const char* key, T fallback) {
  const auto it = props.find(key);
  return it != props.end() && it->second.containsValueOfType<T>() ? it->second.get<T>() : fallback;
}

// Processes: a(usbtt) on the bus.
template <>
std::vector<duende::supervisor::TreeProcess> get_or(
    const std::map<std::string, sdbus::Variant>& props, const char* key,
    std::vector<duende::supervisor::TreeProcess> fallback) {
  using Wire = std::vector<sdbus::Struct<uint32_t, std::string, bool, uint64_t, uint64_t>>;
  const auto it = props.find(key);
  if (it == props.end() || !it->second.containsValueOfType<Wire>()) return fallback;
  std::vector<duende::supervisor::TreeProcess> out;
  for (const auto& s : it->second.get<Wire>())
    out.push_back({std::get<0>(s), std::get<1>(s), std::get<2>(s), std::get<3>(s), std::get<4>(s)});
  return out;
}

// Reads every property the table names, keeping `fallback`'s value where the bus has
// none of the expected type.
template <class Props, class Visit>
Props read_properties(const std::map<std::string, sdbus::Variant>& bus, Props fallback,
                      Visit for_each) {
  for_each([&](const char* name, auto member) {
    using T = decltype(duende::supervisor::member_type(member));
    fallback.*member = get_or<T>(bus, name, fallback.*member);
  });
  return fallback;
}

CtlChild child_from(const std::string& path, const std::map<std::string, sdbus::Variant>& p) {
  CtlChild fallback;
  fallback.name = child_name(path);
  fallback.state = "?";
  return read_properties(p, fallback,
                         [](auto&& f) { duende::supervisor::for_each_child_property(f); });
}

duende::supervisor::ManagerProperties manager_from(const std::map<std::string, sdbus::Variant>& p) {
  duende::supervisor::ManagerProperties fallback;
  fallback.version = fallback.state = "?";
  return read_properties(p, fallback,
                         [](auto&& f) { duende::supervisor::for_each_manager_property(f); });
}

CtlSnapshot read_snapshot(ManagerClient& manager) {
  CtlSnapshot s;
  static_cast<duende::supervisor::ManagerProperties&>(s) =
      manager_from(manager.GetAll(kManagerInterface));
  for (const auto& [path, interfaces] : manager.GetManagedObjects()) {
    const auto it = interfaces.find(kChildInterface);
    if (it != interfaces.end()) s.children.push_back(child_from(path, it->second));
  }
  std::sort(s.children.begin(), s.children.end(),
            [](const CtlChild& a, const CtlChild& b) { return a.name < b.name; });
  return s;
}

// Turns a D-Bus error into the message an operator needs.
std::string explain(const sdbus::Error& e) {
  const std::string& n = e.getName();
  using namespace duende::supervisor;
  if (n == kErrorServiceUnknown || n == kErrorNameHasNoOwner)
    return "mlock-supervisor is not running (nobody owns org.duende.MlockSupervisor1 on the system "
           "bus; try: systemctl start mlock-supervisor)";
  if (n == kErrorAccessDenied)
    return "permission denied: only root may start, stop, restart or reload (try sudo)";
  if (n == kErrorConfigInvalid)
    return "the new configuration is invalid; the running one is kept:\n" + e.getMessage();
  if (n == kErrorSwapBusy)
    return "refused: " + e.getMessage() +
           "; the child keeps running (mlockctl stop --force NAME stops it anyway, and every "
           "process with pages on that swap hangs)";
  return e.getMessage().empty() ? n : e.getMessage();
}

int run_watch(sdbus::IConnection& connection, ManagerClient& manager) {
  auto slot = connection.addMatch(
      std::string("type='signal',sender='") + kBusName +
          "',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
          "path_namespace='" +
          kManagerPath + "'",
      [](sdbus::Message& msg) {
        std::string interface;
        std::map<std::string, sdbus::Variant> changed;
        msg >> interface >> changed;
        const std::string who =
            msg.getPath() == std::string(kManagerPath) ? "supervisor" : child_name(msg.getPath());
        std::string line;
        for (const auto& [key, value] : changed)
          line += " " + key + "=" +
                  (key == "LastExitStatus" && value.containsValueOfType<int32_t>()
                       ? duende::supervisor::exit_status_text(value.get<int32_t>())
                       : variant_text(value));
        std::printf("%s %s:%s\n", now_text().c_str(), who.c_str(), line.c_str());
        std::fflush(stdout);
      });
  const CtlSnapshot s = read_snapshot(manager);  // also proves the daemon is there
  std::printf("%s watching %zu children of mlock-supervisor %s (state %s); Ctrl-C to stop\n",
              now_text().c_str(), s.children.size(), s.version.c_str(), s.state.c_str());
  std::fflush(stdout);
  connection.enterEventLoop();
  return 0;
}

// ---- reexec ----

// The supervisor process that owns the bus name now: its unique name and pid.
struct Owner {
  std::string unique_name;  // ":1.42"
  std::uint32_t pid = 0;    // 0 if the bus would not say
};

// Asks the bus daemon, which never activates anything for these: nullopt when nobody owns
// the name. Throws sdbus::Error for anything else.
std::optional<Owner> bus_name_owner(sdbus::IConnection& connection) {
  auto bus = sdbus::createProxy(connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
  Owner owner;
  try {
    bus->callMethod("GetNameOwner")
        .onInterface("org.freedesktop.DBus")
        .withTimeout(std::chrono::seconds(5))
        .withArguments(std::string(kBusName))
        .storeResultsTo(owner.unique_name);
  } catch (const sdbus::Error& e) {
    if (e.getName() == kErrorNameHasNoOwner) return std::nullopt;
    throw;
  }
  try {
    bus->callMethod("GetConnectionUnixProcessID")
        .onInterface("org.freedesktop.DBus")
        .withTimeout(std::chrono::seconds(5))
        .withArguments(owner.unique_name)
        .storeResultsTo(owner.pid);
  } catch (const sdbus::Error&) {  // gone meanwhile, or a bus that does not tell: no pid
  }
  return owner;
}

// How long `mlockctl reexec` waits for the new image, and how often it looks. The daemon
// gives the check of the binary 30 s; writing the state and execve() take milliseconds.
constexpr std::chrono::seconds kReexecDeadline{60};
constexpr std::chrono::milliseconds kReexecPoll{50};

// Asks for a re-exec, then watches, over a fresh connection each time (the daemon's
// name goes away while it executes itself), until Reexecs went up (success), ReexecFailure
// says why it did not happen, another process answers, or the deadline passes. The
// calls go to the owner's unique name: a well-known name without an owner would be
// activated.
int run_reexec(sdbus::IConnection& connection, bool json) {
  const std::optional<Owner> owner = bus_name_owner(connection);
  if (!owner) throw sdbus::Error(kErrorNameHasNoOwner, "");
  CtlReexec outcome;
  outcome.pid = owner->pid;
  {
    ManagerClient manager(connection, owner->unique_name);
    outcome.before = read_snapshot(manager);
    try {
      manager.Reexec();
    } catch (const sdbus::Error& e) {
      if (e.getName() == kErrorAccessDenied)
        throw std::runtime_error(
            "permission denied: only root may re-execute the supervisor "
            "(try sudo)");
      if (e.getName() == kErrorServiceUnknown || e.getName() == kErrorNameHasNoOwner) throw;
      throw std::runtime_error("re-exec refused: " + explain(e));
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + kReexecDeadline;
  std::string last_seen = "it did not answer";
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(kReexecPoll);
    try {
      auto fresh = sdbus::createSystemBusConnection();
      const std::optional<Owner> now = bus_name_owner(*fresh);
      if (!now) {
        last_seen = std::string("nobody owns ") + kBusName;
        continue;
      }
      if (outcome.pid != 0 && now->pid != 0 && now->pid != outcome.pid)
        throw std::runtime_error("mlock-supervisor came back as another process (pid " +
                                 std::to_string(now->pid) + ", was " + std::to_string(outcome.pid) +
                                 "): it was restarted, not re-executed in place; see its log");
      // A plain proxy: a ManagerClient would subscribe to its signals at every look.
      auto proxy = sdbus::createProxy(*fresh, now->unique_name, kManagerPath);
      std::map<std::string, sdbus::Variant> all;
      proxy->callMethod("GetAll")
          .onInterface("org.freedesktop.DBus.Properties")
          .withTimeout(std::chrono::seconds(5))
          .withArguments(std::string(kManagerInterface))
          .storeResultsTo(all);
      const auto props = manager_from(all);
      if (props.reexecs > outcome.before.reexecs) {
        ManagerClient manager(*fresh, now->unique_name);
        outcome.after = read_snapshot(manager);
        if (outcome.pid == 0) outcome.pid = now->pid;
        std::fputs(duende::supervisor::format_reexec(outcome, json).c_str(), stdout);
        return 0;
      }
      if (!props.reexec_failure.empty())
        throw std::runtime_error("re-exec failed: " + props.reexec_failure +
                                 "; the running supervisor goes on");
      last_seen = "it still runs the old image (state " + props.state + ")";
    } catch (const sdbus::Error& e) {  // between two images, or a bus away: look again
      last_seen =
          "the last look failed: " + (e.getMessage().empty() ? e.getName() : e.getMessage());
    }
  }
  throw std::runtime_error("no re-exec within " + std::to_string(kReexecDeadline.count()) +
                           " s (Reexecs still " + std::to_string(outcome.before.reexecs) + "; " +
                           last_seen + ")");
}

// Checks the command and its argument count before anything touches the bus, so a usage
// error is one whatever the state of the machine. Throws UsageError.
void check_usage(const std::vector<std::string>& args) {
  const std::string& cmd = args[0];
  const auto want_args = [&](std::size_t n) {
    if (args.size() != n + 1)
      throw UsageError(cmd + ": expects " + std::to_string(n) + " argument(s)");
  };
  if (cmd == "status") return;  // any number of child names
  if (cmd == "start" || cmd == "stop" || cmd == "restart") return want_args(1);
  if (cmd == "list" || cmd == "metrics" || cmd == "watch" || cmd == "reload" || cmd == "reexec")
    return want_args(0);
  throw UsageError("unknown command \"" + cmd + "\" (see mlockctl --help)");
}

int run_command(const std::vector<std::string>& args, bool json, bool force) {
  const std::string& cmd = args[0];
  std::unique_ptr<sdbus::IConnection> connection;
  try {
    connection = sdbus::createSystemBusConnection();
  } catch (const sdbus::Error& e) {
    if (cmd == "metrics") {
      std::fputs(duende::supervisor::format_metrics(std::nullopt).c_str(), stdout);
      return 0;
    }
    throw std::runtime_error("cannot connect to the system bus: " + e.getMessage());
  }
  if (cmd == "reexec") return run_reexec(*connection, json);
  ManagerClient manager(*connection);
  if (cmd == "status") {
    CtlSnapshot s = read_snapshot(manager);
    if (args.size() > 1) {
      std::vector<CtlChild> picked;
      for (std::size_t i = 1; i < args.size(); ++i) {
        const auto it = std::find_if(s.children.begin(), s.children.end(),
                                     [&](const CtlChild& c) { return c.name == args[i]; });
        if (it == s.children.end()) throw std::runtime_error("no child named \"" + args[i] + "\"");
        picked.push_back(*it);
      }
      s.children = picked;
    }
    std::fputs(
        (json ? duende::supervisor::format_json(s) : duende::supervisor::format_status(s)).c_str(),
        stdout);
    return std::any_of(s.children.begin(), s.children.end(),
                       [](const CtlChild& c) { return duende::supervisor::in_trouble(c); })
               ? kExitTrouble
               : 0;
  }
  if (cmd == "list") {
    const CtlSnapshot s = read_snapshot(manager);
    std::fputs(
        (json ? duende::supervisor::format_json(s) : duende::supervisor::format_list(s)).c_str(),
        stdout);
    return 0;
  }
  if (cmd == "metrics") {
    std::optional<CtlSnapshot> s;
    try {
      s = read_snapshot(manager);
    } catch (const sdbus::Error& e) {
      std::fprintf(stderr, "mlockctl: %s\n", explain(e).c_str());
    }
    std::fputs(duende::supervisor::format_metrics(s).c_str(), stdout);
    return 0;
  }
  if (cmd == "start") {
    manager.StartChild(args[1]);
    return 0;
  }
  if (cmd == "stop" || cmd == "restart") {
    // The reply waits for the child's swapoff, which the daemon gives 5 minutes.
    const char* method = cmd == "restart" ? "RestartChild" : force ? "ForceStopChild" : "StopChild";
    manager.call_for_child(method, args[1], std::chrono::minutes(6));
    return 0;
  }
  if (cmd == "reload") {
    manager.Reload();
    return 0;
  }
  return run_watch(*connection, manager);  // check_usage() left only "watch"
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args;
  bool json = false;
  bool force = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (a == "--version") {
      std::printf("mlockctl %s\n", MLOCK_SUPERVISOR_VERSION);
      return 0;
    }
    if (a == "--json")
      json = true;
    else if (a == "--force")
      force = true;
    else if (a.rfind("-", 0) == 0) {  // anywhere: child names never start with '-'
      std::fprintf(stderr, "mlockctl: unknown option %s (see --help)\n", a.c_str());
      return kExitUsage;
    } else
      args.push_back(a);
  }
  if (args.empty()) args.push_back("status");
  try {
    check_usage(args);
    if (force && args[0] != "stop") throw UsageError("--force is only for stop");
    return run_command(args, json, force);
  } catch (const sdbus::Error& e) {
    std::fprintf(stderr, "mlockctl: %s\n", explain(e).c_str());
    return kExitFailure;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "mlockctl: %s\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mlockctl: %s\n", e.what());
    return kExitFailure;
  }
}
