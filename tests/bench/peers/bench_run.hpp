// One benchmark run: per child count, rounds of every peer in rotated order (A B C, B C A,
// …, so machine noise hits all alike), each peer started fresh in a directory of its own,
// measured (startup, footprint, idle, restarts, status) and stopped by pid; then the floors,
// and mlock-supervisor once more on the private bus for what needs the bus (mlockctl, the
// in-process D-Bus client, its VmLck on a bus).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dbus_probe.hpp"
#include "events.hpp"
#include "peer.hpp"
#include "results.hpp"

namespace duende::peers {

struct Plan {
  std::vector<int> counts{10, 100, 1000};
  int rounds = 3;
  double idle_seconds = 30;   // per peer and count, split evenly over the rounds
  int restart_trials = 21;    // per peer and count, split over the rounds
  int status_trials = 5;      // per query, round and peer
  int dbus_calls = 100;       // per call, round
  double settle_seconds = 2;  // after startup, before the footprint and idle window
  std::string mode = "full";
  std::vector<std::string> columns;  // which to run (kColumns without the floor)
};

class BenchRun {
 public:
  BenchRun(Programs programs, std::string link_floor, Plan plan, std::string work_dir,
           Results& results);
  ~BenchRun();
  void run();

 private:
  void run_count(int n);
  void run_peer(const std::string& column, int n, int round);
  void measure_startup(Peer& peer, int n, const std::string& column);
  void measure_footprint(Peer& peer, int n, const std::string& column, const std::string& prefix);
  void measure_idle(Peer& peer, int n, int round, const std::string& column);
  void measure_restarts(Peer& peer, int n, int round, const std::string& column);
  void measure_status(Peer& peer, int n, const std::string& column);
  void measure_bus(int n, int round);
  void measure_floors(int n, int round);
  // Stops everything the peer started in `dir`, by pid; notes any process left behind.
  void stop_peer(Peer& peer, const std::string& dir, const std::string& column);
  std::unique_ptr<Peer> make(const std::string& column, bool on_bus) const;
  std::string fresh_dir(const std::string& column, int n, int round, const std::string& tag);

  Programs programs_;
  std::string link_floor_;
  Plan plan_;
  std::string work_dir_;
  Results& results_;
  std::unique_ptr<Events> events_;
  std::unique_ptr<DbusProbe> probe_;
  std::vector<pid_t> last_children_;  // of the last locked run: the /proc floor's pids
  bool noted_status_exit_ = false;
};

// Set by SIGINT/SIGTERM: every wait gives up, the current peer is stopped, and the run
// ends with what was measured so far.
bool interrupted();
void install_interrupt_handlers();

}  // namespace duende::peers
