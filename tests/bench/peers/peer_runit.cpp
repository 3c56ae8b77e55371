// runit 2.1.2, standalone: `runsvdir DIR/service` on a service directory of its own (never
// /etc/service or the runit system service), one runsv per child, ./run a symlink to
// bench-child. runsv restarts a dead ./run at once, except within a second of its last
// start (then it waits a second): the benchmark kills children that have run for longer,
// so 0 s is the delay measured. runit has no readiness protocol: "n/a".
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>

#include "peer.hpp"

namespace duende::peers {
namespace {

class Runit final : public Peer {
 public:
  explicit Runit(Programs p) : programs_(std::move(p)) {}
  std::string column() const override { return "runit"; }
  std::string restart_note() const override {
    return "runit: runsv restarts at once (it waits 1 s only when ./run dies within 1 s of "
           "its start; every victim had run longer)";
  }
  bool has_readiness() const override { return false; }

  void prepare(const std::string& dir, int children) override {
    dir_ = dir;
    children_ = children;
    mkdir((dir + "/service").c_str(), 0755);
    for (int i = 0; i < children; ++i) {
      const std::string sv = dir + "/service/" + child_name(i);
      mkdir(sv.c_str(), 0755);
      if (symlink(programs_.child.c_str(), (sv + "/run").c_str()) != 0)
        throw std::runtime_error("symlink " + sv + "/run");
    }
  }

  void start(Events& events) override {
    SpawnOptions o;
    o.argv = {find_program("runsvdir"), dir_ + "/service"};
    o.env = base_environment(events.socket_path());
    o.cwd = dir_;
    root_ = spawn(o);
  }
  pid_t root() const override { return root_; }
  std::optional<Clock::time_point> wait_all_ready(Events&, Clock::time_point) override {
    return std::nullopt;
  }

  std::vector<StatusQuery> status_queries() const override {
    SpawnOptions all, one;
    all.argv = {find_program("sv"), "status"};
    for (int i = 0; i < children_; ++i) all.argv.push_back(dir_ + "/service/" + child_name(i));
    all.env = base_environment("");
    one = all;
    one.argv.resize(3);
    return {{"status all", {all}}, {"status one", {one}}};
  }
  // runsvdir exits on SIGTERM leaving every runsv behind; SIGHUP first sends each a TERM
  // (which stops its child) and then exits.
  int stop_signal() const override { return SIGHUP; }

 private:
  Programs programs_;
  std::string dir_;
  int children_ = 0;
  pid_t root_ = 0;
};

}  // namespace

std::unique_ptr<Peer> make_runit(const Programs& programs) {
  return std::make_unique<Runit>(programs);
}

}  // namespace duende::peers
