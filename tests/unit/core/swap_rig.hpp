// What the swap lifecycle tests share: a backend child that names its swap device in its
// readiness, and how it is brought up with its swap on.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "supervisor_rig.hpp"

namespace duende::supervisor::test {

inline constexpr const char* kLockedReport = "X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=4096\n";
inline constexpr const char* kReadyWithDevice = "READY=1\nX_DUENDE_SWAP_DEVICE=/dev/loop7\n";
inline const FakeTools::Answer kSwapoffEnomem{
    255, "swapoff: /dev/loop7: swapoff failed: Cannot allocate memory\n"};

// A configuration with child "backend" (notify readiness, "swap": `swap`, `extra` members
// before "swap") and `more` children after it.
inline std::string swap_config(const std::string& swap, const std::string& extra = "",
                               const std::string& more = "") {
  return R"({"monitor_interval_sec": 0.5, "children": {"backend": {
      "exec": ["/bin/backend"], "ready": "notify", )" +
         extra + R"( "swap": )" + swap + "}" + more + "}}";
}

// Starts the supervisor, the backend locked; it reports its lock and `ready` (by default
// READY=1 with its device); its swap is then on.
inline void start_with_swap_on(SupervisorRig& rig, const std::string& ready = kReadyWithDevice) {
  rig.fake.set_new_process_memory({.locked_bytes = 4096});
  rig.sup().start();
  rig.send("backend", std::string(kLockedReport) + ready);
  rig.round();
  ASSERT_EQ(rig.state("backend"), ChildState::Running);
}

inline std::vector<std::string> critical_lines(const SupervisorRig& rig) {
  std::vector<std::string> out;
  for (const auto& line : rig.log.lines())
    if (line.level == LogLevel::Critical) out.push_back(line.text);
  return out;
}

}  // namespace duende::supervisor::test
