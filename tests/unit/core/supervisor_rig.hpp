// A Supervisor wired to a FakeSystem and a log capture, built from a JSON configuration:
// what every supervisor test in this folder starts from.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>

#include "config/config.hpp"
#include "core/supervisor.hpp"
#include "fake_system.hpp"
#include "log_capture.hpp"

namespace duende::supervisor {

// Readable states in gtest's failure messages.
inline void PrintTo(ChildState state, std::ostream* os) { *os << to_string(state); }
inline void PrintTo(ManagerState state, std::ostream* os) { *os << to_string(state); }

namespace test {

inline constexpr const char* kNotifySocket = "/run/test/notify";
inline constexpr const char* kPreload = "/preload.so";

// A validated Config (start_order computed) from one JSON document; a failure is reported
// to the running test and an empty Config returned.
inline Config config_from_json(const std::string& json) {
  ConfigResult result = config_from_documents({{"test.json", json}});
  if (!result) {
    for (const auto& problem : result.error()) ADD_FAILURE() << problem.to_string();
    return {};
  }
  return *result;
}

struct SupervisorRig {
  // `json`: the configuration the supervisor starts with. `loader` answers reload().
  explicit SupervisorRig(const std::string& json) : SupervisorRig(config_from_json(json)) {}
  explicit SupervisorRig(Config config)
      : supervisor(std::make_unique<Supervisor>(
            fake, std::move(config), [this] { return loader(); }, kNotifySocket, kPreload)) {}

  Supervisor& sup() { return *supervisor; }
  // The child named `name`; fails the test (and throws) when there is none.
  const Child& child(const std::string& name) {
    const Child* c = supervisor->find(name);
    if (!c) throw std::runtime_error("no child " + name);
    return *c;
  }
  ChildState state(const std::string& name) { return child(name).state(); }
  // A datagram from the current process of child `name`, then the rest of that loop round
  // (the supervisor's pass over its children runs on a zero-delay timer).
  void send(const std::string& name, const std::string& text) {
    supervisor->on_datagram(Datagram{fake.last_pid(name), text, false});
    fake.advance(Clock::duration::zero());
  }
  // The end of the current loop round: what the events so far scheduled runs.
  void round() { fake.advance(Clock::duration::zero()); }

  LogCapture log;  // first: outlives everything that logs
  FakeSystem fake;
  std::function<ConfigResult()> loader = [] {
    return ConfigResult(
        mlock::Unexpected(std::vector<ConfigProblem>{{"test.json", "", "no loader"}}));
  };
  std::unique_ptr<Supervisor> supervisor;
};

}  // namespace test
}  // namespace duende::supervisor
