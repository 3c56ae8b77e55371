// Floods must not starve supervision: 64 unprivileged clients each keeping a
// GetManagedObjects call in flight, or a child flooding lock reports while holding
// 256 MiB. Each test measures a flapping child's restart cadence and the watchdog's
// keep-alives over the same window without and then with the flood, in the same run, and
// holds the ratio (no wall-clock thresholds): supervision under load keeps at least 70 %.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "bus_harness.hpp"

namespace duende::itest {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kWindow = std::chrono::seconds(3);

class Flood : public BusTest {
 protected:
  void start_with_watchdog() {
    Harness::Launch launch;
    launch.bus_address = bus->address();
    launch.watchdog_usec = 200000;  // keep-alives every 100 ms
    h.start(launch);
    ASSERT_TRUE(eventually([&] { return name_owned(bus->address()); }));
  }

  void add_flapper() { h.config["children"]["flapper"] = flapping_child(); }

  int watchdogs() {
    int n = 0;
    for (const auto& note : h.notifications()) n += note.text == "WATCHDOG=1";
    return n;
  }

  // Starts of the flapper and keep-alives during one window (polled with a deadline).
  struct Cadence {
    int starts = 0;
    int keepalives = 0;
  };
  Cadence measure() {
    const int starts = h.count("flapper: started"), keepalives = watchdogs();
    const auto end = Clock::now() + kWindow;
    EXPECT_TRUE(eventually([&] { return Clock::now() >= end; }, kWindow + kDeadline));
    return {h.count("flapper: started") - starts, watchdogs() - keepalives};
  }
};

TEST_F(Flood, SixtyFourUnprivilegedBusClientsDoNotSlowSupervision) {
  constexpr int kClients = 64;
  add_flapper();
  h.config["children"]["steady"] = idle_child();
  start_with_watchdog();
  ASSERT_TRUE(h.wait_for_log("flapper: started", 3));
  const Cadence quiet = measure();

  UnprivilegedReaders readers(bus->address(), kClients);
  const bool all_answered = eventually([&] {
    for (int i = 0; i < kClients; ++i)
      if (readers.answers(i) == 0) return false;
    return true;
  });
  std::vector<long> before(kClients);
  for (int i = 0; i < kClients; ++i) before[i] = readers.answers(i);
  const Cadence loaded = measure();
  long served = 0;
  int starved = 0;
  for (int i = 0; i < kClients; ++i) {
    served += readers.answers(i) - before[i];
    starved += readers.answers(i) == before[i];
  }
  readers.stop();

  std::printf(
      "bus flood: flapper %d starts quiet, %d under %d clients (%.0f %%); keep-alives "
      "%d / %d; %ld answers in %lld s\n",
      quiet.starts, loaded.starts, kClients, 100.0 * loaded.starts / quiet.starts, quiet.keepalives,
      loaded.keepalives, served, static_cast<long long>(kWindow.count()));
  EXPECT_TRUE(all_answered) << "some unprivileged client never got an answer";
  ASSERT_GT(quiet.starts, 5);
  EXPECT_GE(loaded.starts * 10, quiet.starts * 7) << "restart cadence under the bus flood";
  EXPECT_GE(loaded.keepalives * 10, quiet.keepalives * 7) << "WATCHDOG=1 under the bus flood";
  EXPECT_EQ(starved, 0) << "clients that got no answer while the flood went on";
  EXPECT_EQ(daemon_threads(), 1u);
}

TEST_F(Flood, AChildFloodingLockReportsDoesNotSlowSupervisionOrTheBus) {
  add_flapper();
  const std::string gate = h.path("flood.gate"), sent = h.path("flood.count");
  Json flooder = idle_child({"--touch-mib", "256", "--flood-when", gate, "--flood-count", sent});
  h.config["children"]["flooder"] = flooder;
  start_with_watchdog();
  ASSERT_TRUE(h.wait_for_log("flapper: started", 3));
  ASSERT_TRUE(h.wait_for_log("flooder: ready"));
  const Cadence quiet = measure();
  const auto calls_in = [&](std::chrono::milliseconds window) {
    int calls = 0;
    const auto end = Clock::now() + window;
    while (Clock::now() < end) {
      client().managed_objects();
      ++calls;
    }
    return calls;
  };
  const int quiet_calls = calls_in(std::chrono::milliseconds(1000));

  h.write_file(gate, "");
  ASSERT_TRUE(eventually([&] { return std::ifstream(sent).good(); })) << "the flood never began";
  const auto read_sent = [&] {
    long n = 0;
    std::ifstream(sent) >> n;
    return n;
  };
  const long sent_before = read_sent();
  const Cadence loaded = measure();
  const long sent_during = read_sent() - sent_before;
  const int loaded_calls = calls_in(std::chrono::milliseconds(1000));

  std::printf(
      "notify flood: %ld reports in %lld s; flapper %d starts quiet, %d flooded (%.0f %%); "
      "keep-alives %d / %d; GetManagedObjects %d/s quiet, %d/s flooded\n",
      sent_during, static_cast<long long>(kWindow.count()), quiet.starts, loaded.starts,
      100.0 * loaded.starts / quiet.starts, quiet.keepalives, loaded.keepalives, quiet_calls,
      loaded_calls);
  ASSERT_GT(quiet.starts, 5);
  EXPECT_GE(sent_during, 10000L * kWindow.count()) << "not a flood of 10,000 reports a second";
  EXPECT_GE(loaded.starts * 10, quiet.starts * 7) << "restart cadence under the notify flood";
  EXPECT_GE(loaded.keepalives * 10, quiet.keepalives * 7) << "WATCHDOG=1 under the notify flood";
  EXPECT_GE(loaded_calls * 10, quiet_calls * 3) << "D-Bus answers under the notify flood";
  EXPECT_EQ(h.count("flooder: flooding the notify socket"), 1);
  EXPECT_EQ(daemon_threads(), 1u);
}

}  // namespace
}  // namespace duende::itest
