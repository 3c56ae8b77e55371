// The swap a child backs, over D-Bus with the real daemon: its properties, and StopChild
// (an asynchronous method) replying only once the swap is off. A swap FILE the test makes
// (swap_file.hpp) stands for the device; nothing else on the host is touched.
#include <gtest/gtest.h>

#include <string>

#include "bus_harness.hpp"
#include "swap_file.hpp"

namespace duende::itest {
namespace {

class BusSwap : public BusTest {
 protected:
  // Starts the daemon with child "backend" whose swap is `file`, and waits until it is on.
  void start_with_swap(const SwapFile& file) {
    h.config["children"]["backend"] = swap_backend(file.path());
    start_daemon();
    ASSERT_TRUE(eventually([&] {
      return prop<std::string>(client().child_properties("backend"), "SwapState") == "on";
    }));
  }
};

TEST_F(BusSwap, PropertiesAndStatusShowTheSwap) {
  DUENDE_REQUIRE_SWAP();
  SwapFile file;
  start_with_swap(file);
  const Properties p = client().child_properties("backend");
  EXPECT_EQ(prop<std::string>(p, "SwapDevice"), file.path());
  EXPECT_EQ(prop<std::string>(p, "SwapError"), "");
  EXPECT_GT(prop<std::uint64_t>(p, "SwapSizeBytes"), 15u << 20);  // 16 MiB less the header
  EXPECT_EQ(prop<std::uint64_t>(p, "SwapUsedBytes"), 0u);
  const RunResult status = mlockctl({"status"});
  EXPECT_NE(status.out.find("backend: swap " + file.path() + " on, 0 B used of"), std::string::npos)
      << status.out;
  const RunResult json = mlockctl({"--json", "status"});
  EXPECT_NE(json.out.find("\"device\": \"" + file.path() + "\""), std::string::npos) << json.out;
}

TEST_F(BusSwap, StopChildRepliesOnceTheSwapIsOff) {
  DUENDE_REQUIRE_SWAP();
  SwapFile file;
  start_with_swap(file);
  ASSERT_FALSE(swaps_line(file.path()).empty());
  const CallError e = client().manager_call("StopChild", "backend");
  ASSERT_FALSE(e) << e.name << ": " << e.message;
  EXPECT_TRUE(swaps_line(file.path()).empty());  // off before the reply
  wait_child_state("backend", "stopped");
  EXPECT_LT(h.line_index("backend: swap on " + file.path() + " is off"),
            h.line_index("backend: stopped"));
}

TEST_F(BusSwap, MlockctlStopForceStopsABackendWhoseSwapIsOn) {
  DUENDE_REQUIRE_SWAP();
  SwapFile file;
  start_with_swap(file);
  const RunResult r = mlockctl({"stop", "--force", "backend"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  wait_child_state("backend", "stopped");
  EXPECT_TRUE(swaps_line(file.path()).empty());  // swapoff worked: force changed nothing
  EXPECT_GE(h.line_index("backend: forced stop requested"), 0);
}

}  // namespace
}  // namespace duende::itest
