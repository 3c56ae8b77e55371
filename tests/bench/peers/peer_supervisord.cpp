// supervisord (Debian's supervisor 4.2.5), standalone: `supervisord -n -c DIR/supervisord.conf`
// with its own unix socket, pid file and logs in DIR, never the system service. Each child
// is a [program:cN] that runs bench-child directly; `startsecs=0` so it counts as RUNNING
// at once (as with the others) and `autorestart=true`. supervisord has no restart delay for
// a process that was RUNNING (backoff applies only to failed starts): 0 is its minimum.
#include <signal.h>
#include <sys/stat.h>

#include "peer.hpp"

namespace duende::peers {
namespace {

class Supervisord final : public Peer {
 public:
  explicit Supervisord(Programs p) : programs_(std::move(p)) {}
  std::string column() const override { return "supervisord"; }
  std::string restart_note() const override {
    return "supervisord: autorestart=true, startsecs=0 (no delay after a RUNNING process "
           "dies; its main loop ticks at most once a second)";
  }
  bool has_readiness() const override { return false; }

  void prepare(const std::string& dir, int children) override {
    dir_ = dir;
    children_ = children;
    conf_ = dir + "/supervisord.conf";
    std::string text = "[unix_http_server]\nfile=" + dir + "/supervisor.sock\nchmod=0700\n\n" +
                       "[supervisord]\nnodaemon=true\ndirectory=" + dir + "\nlogfile=" + dir +
                       "/supervisord.log\npidfile=" + dir + "/supervisord.pid\nchildlogdir=" + dir +
                       "\nloglevel=warn\n" +
                       // Two pipes per child: 1,000 children need more than 1,024 fds.
                       "minfds=" + std::to_string(1024 + 8 * children) +
                       "\nminprocs=" + std::to_string(200 + 2 * children) + "\n\n" +
                       "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = "
                       "supervisor.rpcinterface:make_main_rpcinterface\n\n" +
                       "[supervisorctl]\nserverurl=unix://" + dir + "/supervisor.sock\n\n";
    for (int i = 0; i < children; ++i) {
      const std::string name = child_name(i);
      text += "[program:" + name + "]\ncommand=" + programs_.child + " " + name +
              "\ndirectory=" + dir + "\nautostart=true\nautorestart=true\nstartsecs=0\n" +
              "startretries=1000000\nstdout_logfile=NONE\nstderr_logfile=NONE\n\n";
    }
    write_file(conf_, text);
  }

  void start(Events& events) override {
    SpawnOptions o;
    o.argv = {find_program("supervisord"), "-n", "-c", conf_};
    o.env = base_environment(events.socket_path());
    o.cwd = dir_;
    root_ = spawn(o);
  }
  pid_t root() const override { return root_; }
  std::optional<Clock::time_point> wait_all_ready(Events&, Clock::time_point) override {
    return std::nullopt;
  }

  std::vector<StatusQuery> status_queries() const override {
    auto ctl = [&](std::vector<std::string> args) {
      SpawnOptions o;
      o.argv = {find_program("supervisorctl"), "-c", conf_, "status"};
      o.argv.insert(o.argv.end(), args.begin(), args.end());
      o.env = base_environment("");
      return o;
    };
    return {{"status all", {ctl({})}}, {"status one", {ctl({"c0"})}}};
  }
  int stop_signal() const override { return SIGTERM; }

 private:
  Programs programs_;
  std::string dir_, conf_;
  int children_ = 0;
  pid_t root_ = 0;
};

}  // namespace

std::unique_ptr<Peer> make_supervisord(const Programs& programs) {
  return std::make_unique<Supervisord>(programs);
}

}  // namespace duende::peers
