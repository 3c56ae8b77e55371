// s6 2.11, standalone: `s6-svscan DIR/scan` on a scan directory of its own, one
// s6-supervise per child, ./run a symlink to bench-child, and `notification-fd` 3: the
// child writes a newline there once it is up (BENCH_NOTIFY_FD=3 tells it where), so s6
// knows readiness, and `s6-svwait -U -a` over every service is "all ready". s6-supervise
// waits at least a second between two starts of ./run; the victims had run for longer, so
// the restart is immediate. Status: s6-svstat has no "all" form; the operator's loop over
// the service directories is what is timed.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

#include "peer.hpp"

namespace duende::peers {
namespace {

class S6 final : public Peer {
 public:
  explicit S6(Programs p) : programs_(std::move(p)) {}
  std::string column() const override { return "s6"; }
  std::string restart_note() const override {
    return "s6: s6-supervise restarts at once (at least 1 s between two starts of ./run; "
           "every victim had run longer); readiness by notification-fd";
  }
  bool has_readiness() const override { return true; }

  void prepare(const std::string& dir, int children) override {
    dir_ = dir;
    children_ = children;
    mkdir((dir + "/scan").c_str(), 0755);
    for (int i = 0; i < children; ++i) {
      const std::string sv = service(i);
      mkdir(sv.c_str(), 0755);
      if (symlink(programs_.child.c_str(), (sv + "/run").c_str()) != 0)
        throw std::runtime_error("symlink " + sv + "/run");
      write_file(sv + "/notification-fd", "3\n");
    }
  }

  void start(Events& events) override {
    SpawnOptions o;
    // -c: it supervises at most 500 services by default (1,000 children would leave half
    // of them unstarted); room for every child and its logger slot.
    o.argv = {find_program("s6-svscan"), "-c", std::to_string(2 * children_ + 16), dir_ + "/scan"};
    o.env = base_environment(events.socket_path());
    o.env.push_back("BENCH_NOTIFY_FD=3");
    o.cwd = dir_;
    root_ = spawn(o);
  }
  pid_t root() const override { return root_; }

  std::optional<Clock::time_point> wait_all_ready(Events&, Clock::time_point deadline) override {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    SpawnOptions o;
    o.argv = {find_program("s6-svwait"), "-U", "-a", "-t",
              std::to_string(std::max<long>(1, ms.count()))};
    for (int i = 0; i < children_; ++i) o.argv.push_back(service(i));
    o.env = base_environment("");
    const RunResult r = run(o);
    if (r.status != 0) return std::nullopt;
    return Clock::now();
  }

  std::vector<StatusQuery> status_queries() const override {
    auto svstat = [&](int i) {
      SpawnOptions o;
      o.argv = {find_program("s6-svstat"), service(i)};
      o.env = base_environment("");
      return o;
    };
    StatusQuery all{"status all", {}};
    for (int i = 0; i < children_; ++i) all.commands.push_back(svstat(i));
    return {all, {"status one", {svstat(0)}}};
  }
  // s6-svscan 2.11: SIGTERM tells every s6-supervise to stop its service and exit, then it
  // exits itself.
  int stop_signal() const override { return SIGTERM; }

 private:
  std::string service(int i) const { return dir_ + "/scan/" + child_name(i); }

  Programs programs_;
  std::string dir_;
  int children_ = 0;
  pid_t root_ = 0;
};

}  // namespace

std::unique_ptr<Peer> make_s6(const Programs& programs) { return std::make_unique<S6>(programs); }

}  // namespace duende::peers
