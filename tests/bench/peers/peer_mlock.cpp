// mlock-supervisor, the build's binary, as an operator runs it by hand: its configuration,
// conf.d and runtime directory in DIR, NOTIFY_SOCKET pointing at the benchmark (READY=1),
// stderr read by the benchmark (the "NAME: ready" lines tell when it has verified a child).
// It locks itself as it always does. Locked children run bench-child under the build's
// shim ("preload": true, "ready": "locked": ready means the supervisor has seen the lock
// report and VmLck > 0); unlocked ones ("preload": false, no lock asked, "ready":
// "notify") are the like-for-like comparison with the peers. Restart delay 0 s
// ("restart_sec": 0, its minimum), no start limit in the way. Without a bus its system bus
// address is a dead socket in DIR, so it never talks to the host's bus.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "peer.hpp"

namespace duende::peers {
namespace {

using Json = nlohmann::json;

class Mlock final : public Peer {
 public:
  Mlock(Programs p, bool locked, bool on_bus)
      : programs_(std::move(p)), locked_(locked), on_bus_(on_bus) {}
  std::string column() const override {
    return locked_ ? "mlock-supervisor locked" : "mlock-supervisor unlocked";
  }
  std::string restart_note() const override {
    return "mlock-supervisor: restart_sec 0 (its minimum), \"to locked\" = its own "
           "verification (lock report and VmLck > 0)";
  }
  bool has_readiness() const override { return true; }
  bool locks_children() const override { return locked_; }

  void prepare(const std::string& dir, int children) override {
    dir_ = dir;
    children_ = children;
    for (const char* sub : {"/conf.d", "/run", "/work"}) mkdir((dir + sub).c_str(), 0755);
    Json config{{"monitor_interval_sec", 1.0}, {"children", Json::object()}};
    for (int i = 0; i < children; ++i) {
      const std::string name = child_name(i);
      Json child{{"exec", {programs_.child, name}},
                 {"environment", {{"BENCH_SOCKET", programs_.bench_socket}}},
                 {"working_directory", dir + "/work"},
                 {"preload", locked_},
                 {"ready", locked_ ? "locked" : "notify"},
                 {"restart", "always"},
                 {"restart_sec", 0},
                 {"start_limit_burst", 1000000},
                 {"start_timeout_sec", 300}};
      if (!locked_) child["mlock"] = {{"current", false}, {"future", false}, {"required", false}};
      config["children"][name] = child;
    }
    write_file(dir + "/mlock-supervisor.json", config.dump(1));
  }

  void start(Events& events) override {
    int err[2];
    if (pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    // The daemon drops log lines rather than block on a full stderr: a start of 1,000
    // children writes ~200 KB of lines at once, more than a pipe's 64 KiB, and a dropped
    // "ready" line would be a child never seen verified. 1 MiB is pipe-max-size.
    fcntl(err[0], F_SETPIPE_SZ, 1 << 20);
    SpawnOptions o;
    o.argv = {programs_.supervisor, "--config",       dir_ + "/mlock-supervisor.json",
              "--config-dir",       dir_ + "/conf.d", "--preload",
              programs_.preload};
    o.env = base_environment(events.socket_path());
    o.env.push_back("NOTIFY_SOCKET=" + events.socket_path());
    o.env.push_back("RUNTIME_DIRECTORY=" + dir_ + "/run");
    o.env.push_back("DBUS_SYSTEM_BUS_ADDRESS=" + bus_address());
    o.cwd = dir_;
    o.err_fd = err[1];
    root_ = spawn(o);
    close(err[1]);
    events.watch_log(err[0]);
  }
  pid_t root() const override { return root_; }

  std::optional<Clock::time_point> wait_all_ready(Events& events,
                                                  Clock::time_point deadline) override {
    if (!events.wait([&] { return events.ready_at().has_value(); }, deadline)) return {};
    std::lock_guard lock(events.mutex());
    return events.ready_at();
  }

  std::optional<Clock::time_point> wait_child_locked(Events& events, const std::string& name,
                                                     std::size_t seen,
                                                     Clock::time_point deadline) override {
    if (!events.wait([&] { return events.ready_lines(name) > seen; }, deadline)) return {};
    std::lock_guard lock(events.mutex());
    return events.last_ready_line(name);
  }

  std::vector<StatusQuery> status_queries() const override {
    auto ctl = [&](std::vector<std::string> args) {
      SpawnOptions o;
      o.argv = {programs_.mlockctl};
      o.argv.insert(o.argv.end(), args.begin(), args.end());
      o.env = base_environment("");
      o.env.push_back("DBUS_SYSTEM_BUS_ADDRESS=" + bus_address());
      return o;
    };
    return {{"status all", {ctl({"status"})}},
            {"status one", {ctl({"status", "c0"})}},
            {"status --json", {ctl({"status", "--json"})}}};
  }
  int stop_signal() const override { return SIGTERM; }

 private:
  std::string bus_address() const {
    return on_bus_ && !programs_.bus_address.empty() ? programs_.bus_address
                                                     : "unix:path=" + dir_ + "/no-bus";
  }

  Programs programs_;
  bool locked_, on_bus_;
  std::string dir_;
  int children_ = 0;
  pid_t root_ = 0;
};

}  // namespace

std::unique_ptr<Peer> make_mlock(const Programs& programs, bool locked, bool on_bus) {
  return std::make_unique<Mlock>(programs, locked, on_bus);
}

}  // namespace duende::peers
