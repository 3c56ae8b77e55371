// A supervisor under test, as the benchmark drives it: how to write its configuration for
// N children in a directory of its own, start it there (standalone, its own socket, never
// a system service), tell when it says every child is ready, ask it for status, and which
// signal asks it to stop everything. The measurements (measure.cpp) are the same code for
// every peer; only this differs.
//
// Children are named c0 … cN-1 and run bench-child (bench_child.c) directly, with no
// shell in between: supervisord and mlock-supervisor exec it with the name as argument,
// runit and s6 exec the service directory's ./run, a symlink to it.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events.hpp"
#include "process.hpp"

namespace duende::peers {

// Programs of the build and of the system the peers need.
struct Programs {
  std::string child;       // bench-child
  std::string supervisor;  // mlock-supervisor
  std::string mlockctl;
  std::string preload;       // libduende-mlock-preload.so
  std::string bus_address;   // a private system-like bus for mlockctl, "" = none
  std::string bench_socket;  // Events::socket_path(): the children say hello there
};

// A status query as an operator types it, run to completion and timed.
struct StatusQuery {
  std::string figure;                  // "status all", "status one", "status --json"
  std::vector<SpawnOptions> commands;  // run one after the other (an s6-svstat loop)
};

class Peer {
 public:
  virtual ~Peer() = default;
  // The table's column.
  virtual std::string column() const = 0;
  // The restart delay it runs at and why that is its minimum, for the table's notes.
  virtual std::string restart_note() const = 0;
  // Whether it has a readiness protocol (supervisord and runit have none: "n/a").
  virtual bool has_readiness() const = 0;
  // Whether its children are locked (mlock-supervisor with the shim).
  virtual bool locks_children() const { return false; }

  // Writes its configuration for `children` children into `dir` (fresh, empty).
  virtual void prepare(const std::string& dir, int children) = 0;
  // Starts it; its output goes to files in dir (mlock-supervisor's stderr to `events`).
  virtual void start(Events& events) = 0;
  virtual pid_t root() const = 0;
  // Called once every child said hello: waits until the supervisor itself says that all
  // are ready (READY=1, s6-svwait -U); its time, nullopt when it has no such thing or
  // `deadline` passed.
  virtual std::optional<Clock::time_point> wait_all_ready(Events& events,
                                                          Clock::time_point deadline) = 0;
  // For mlock-supervisor: waits until the supervisor has verified that child `name`'s
  // process `pid` is locked (its "ready" log line after `after`); others: nullopt.
  virtual std::optional<Clock::time_point> wait_child_locked(Events&, const std::string&,
                                                             std::size_t, Clock::time_point) {
    return std::nullopt;
  }
  virtual std::vector<StatusQuery> status_queries() const = 0;
  // The signal that makes it stop every child and exit.
  virtual int stop_signal() const = 0;
};

std::unique_ptr<Peer> make_supervisord(const Programs& programs);
std::unique_ptr<Peer> make_runit(const Programs& programs);
std::unique_ptr<Peer> make_s6(const Programs& programs);
// mlock-supervisor: children locked through the shim ("ready": "locked") or not
// ("preload": false, no lock asked, "ready": "notify"); on the bus given in `programs` when
// `on_bus`, else on a dead address (no bus at all).
std::unique_ptr<Peer> make_mlock(const Programs& programs, bool locked, bool on_bus);

// The path of a program found in /usr/bin, /usr/sbin, /bin, /sbin; "" when absent.
std::string find_program(const std::string& name);
// The child names c0 … c(n-1).
std::string child_name(int i);
void write_file(const std::string& path, const std::string& text, int mode = 0644);

}  // namespace duende::peers
