// Load: 100 clients, each with its own connection (threads of the test process; only the
// daemon must stay single-threaded), call GetManagedObjects in a tight loop while a child
// keeps exiting and being restarted. Every answer must be consistent, supervision must
// keep going (the child keeps being restarted), and the daemon must stay alive, on the
// bus, with one thread.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bus_harness.hpp"
#include "proc_peek.hpp"

namespace duende::itest {
namespace {

constexpr int kClients = 100;
constexpr std::size_t kChildren = 3;

// What is wrong with one GetManagedObjects answer, "" when nothing is.
std::string inconsistency(const ManagedObjects& objects) {
  if (objects.size() != kChildren)
    return "expected 3 objects, got " + std::to_string(objects.size());
  for (const auto& [path, interfaces] : objects) {
    const auto it = interfaces.find(kChildInterface);
    if (it == interfaces.end()) return std::string(path) + ": no Child interface";
    const Properties& p = it->second;
    if (p.size() != kChildPropertyTypes.size())
      return std::string(path) + ": " + std::to_string(p.size()) + " properties";
    for (const auto& [name, type] : kChildPropertyTypes) {
      const auto v = p.find(name);
      if (v == p.end()) return std::string(path) + ": no " + name;
      if (v->second.peekValueType() != type)
        return std::string(path) + ": " + name + " has type " + v->second.peekValueType();
    }
    const std::string name = p.at("Name").get<std::string>();
    if (child_path(name) != std::string(path)) return std::string(path) + " is named " + name;
    const std::string state = p.at("State").get<std::string>();
    if (std::find(kChildStates.begin(), kChildStates.end(), state) == kChildStates.end())
      return name + ": state \"" + state + "\"";
    const std::uint32_t pid = p.at("Pid").get<std::uint32_t>();
    if ((pid != 0) != state_has_process(state))
      return name + ": pid " + std::to_string(pid) + " in state " + state;
    const std::uint64_t locked = p.at("LockedBytes").get<std::uint64_t>();
    if (p.at("IsLocked").get<bool>() != (pid != 0 && locked > 0))
      return name + ": IsLocked disagrees with Pid and LockedBytes";
    if (pid == 0 && (locked != 0 || p.at("ResidentBytes").get<std::uint64_t>() != 0 ||
                     p.at("SwappedBytes").get<std::uint64_t>() != 0))
      return name + ": memory figures without a process";
  }
  return "";
}

class BusLoad : public BusTest {};

TEST_F(BusLoad, HundredClientsCallingGetManagedObjectsWhileAChildRestarts) {
  h.config["children"]["flapper"] = flapping_child();
  h.config["children"]["steady"] = locking_child();
  h.config["children"]["idle"] = idle_child();
  start_daemon();
  wait_child_state("steady", "running");
  const pid_t steady = h.child_pids("steady").at(0);
  const pid_t daemon = h.pid();

  // Connections made one after another (dbus-daemon limits connections still in
  // authentication), then used each by its own thread only.
  std::vector<std::unique_ptr<sdbus::IConnection>> connections;
  for (int i = 0; i < kClients; ++i) connections.push_back(connect_bus(bus->address()));

  std::atomic<bool> stop{false};
  std::atomic<long> answers{0}, failures{0};
  std::vector<long> per_client(kClients, 0);
  std::mutex mutex;
  std::vector<std::string> problems;
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      auto proxy = sdbus::createProxy(*connections[i], kBusName, kManagerPath);
      while (!stop) {
        try {
          ManagedObjects objects;
          proxy->callMethod("GetManagedObjects")
              .onInterface(kObjectManagerInterface)
              .storeResultsTo(objects);
          ++answers;
          ++per_client[i];
          if (const std::string why = inconsistency(objects); !why.empty()) {
            std::lock_guard lock(mutex);
            if (problems.size() < 20) problems.push_back(why);
          }
        } catch (const sdbus::Error& e) {
          ++failures;
          std::lock_guard lock(mutex);
          if (problems.size() < 20) problems.push_back(e.getName() + ": " + e.getMessage());
        }
      }
    });
  }

  // Under load for at least 3 s, and until the flapper has been restarted 5 more times:
  // supervision must not starve behind the bus.
  const int starts_before = h.count("flapper: started");
  const auto load_until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  std::uint64_t max_threads = 0;
  const bool supervised = eventually([&] {
    max_threads = std::max(max_threads, daemon_threads());
    return std::chrono::steady_clock::now() >= load_until &&
           h.count("flapper: started") >= starts_before + 5;
  });
  const long answers_under_load = answers;
  stop = true;
  for (auto& t : clients) t.join();

  EXPECT_TRUE(supervised) << "the flapper was restarted only "
                          << h.count("flapper: started") - starts_before
                          << " times under load: supervision starved";
  for (const auto& p : problems) ADD_FAILURE() << p;
  EXPECT_EQ(failures, 0);
  EXPECT_GT(answers_under_load, kClients);
  for (int i = 0; i < kClients; ++i) EXPECT_GT(per_client[i], 0) << "client " << i << " starved";
  std::cout << answers_under_load << " answers, flapper started "
            << h.count("flapper: started") - starts_before << " times under load\n";

  // The daemon: alive, the same process, one thread all along, on the bus, answering.
  EXPECT_EQ(h.pid(), daemon);
  EXPECT_TRUE(process_alive(daemon));
  EXPECT_EQ(max_threads, 1u);
  EXPECT_EQ(daemon_threads(), 1u);
  EXPECT_EQ(h.count("D-Bus: not connected"), 0);
  EXPECT_TRUE(name_owned(bus->address()));
  EXPECT_EQ(inconsistency(client().managed_objects()), "");
  EXPECT_EQ(h.child_pids("steady"), std::vector<pid_t>{steady});
  EXPECT_GE(prop<std::uint32_t>(client().child_properties("flapper"), "Restarts"), 5u);
}

}  // namespace
}  // namespace duende::itest
