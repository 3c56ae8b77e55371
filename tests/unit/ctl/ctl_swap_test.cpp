// How mlockctl shows the swap a child backs: its status line, its JSON member, its metrics,
// and a failed swap as trouble.
#include "ctl/ctl_swap.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "prometheus_exposition.hpp"

namespace duende::supervisor {
namespace {

CtlChild backend(const std::string& state) {
  CtlChild c;
  c.name = "ramswap";
  c.state = "running";
  c.pid = 42;
  c.is_locked = c.must_be_locked = true;
  c.locked_bytes = 1 << 20;
  c.swap_device = "/dev/loop7";
  c.swap_state = state;
  return c;
}

TEST(SwapLine, DeviceStateAndUseWhileOn) {
  CtlChild c = backend("on");
  c.swap_size_bytes = 128ull << 20;
  c.swap_used_bytes = 37ull << 20;
  EXPECT_EQ(swap_line(c), "ramswap: swap /dev/loop7 on, 37 MiB used of 128 MiB\n");
}

TEST(SwapLine, AFailureSaysWhyAndIsTrouble) {
  CtlChild c = backend("failed");
  c.swap_error = "swapoff: Cannot allocate memory";
  EXPECT_EQ(swap_line(c), "ramswap: swap /dev/loop7 failed: swapoff: Cannot allocate memory\n");
  EXPECT_TRUE(in_trouble(c));
  EXPECT_FALSE(in_trouble(backend("on")));
}

TEST(SwapLine, NothingForAChildWithoutSwap) {
  CtlChild c = backend("off");
  c.swap_device.clear();
  EXPECT_EQ(swap_line(c), "");
  EXPECT_EQ(format_status(CtlSnapshot{}).find("swap"), std::string::npos);
}

TEST(SwapStatus, TheStatusAndJsonShowIt) {
  CtlSnapshot s;
  s.version = "0.1.0";
  s.state = "running";
  CtlChild c = backend("on");
  c.swap_size_bytes = 1 << 20;
  s.children = {c};
  EXPECT_NE(format_status(s).find("ramswap: swap /dev/loop7 on, 0 B used of 1.0 MiB\n"),
            std::string::npos)
      << format_status(s);
  const auto j = nlohmann::json::parse(format_json(s));
  const auto& swap = j.at("children").at(0).at("swap");
  EXPECT_EQ(swap.at("device"), "/dev/loop7");
  EXPECT_EQ(swap.at("state"), "on");
  EXPECT_EQ(swap.at("size_bytes"), 1 << 20);
}

TEST(SwapMetrics, SizeUseAndStatePerChild) {
  CtlSnapshot s;
  CtlChild c = backend("on");
  c.swap_size_bytes = 4096;
  c.swap_used_bytes = 1024;
  s.children = {c};
  const itest::Exposition e = itest::parse_exposition(format_metrics(s));
  EXPECT_TRUE(e.errors.empty()) << e.errors.front();
  EXPECT_EQ(e.value("mlock_supervisor_child_swap_used_bytes",
                    {{"child", "ramswap"}, {"device", "/dev/loop7"}}),
            1024);
  EXPECT_EQ(e.value("mlock_supervisor_child_swap_size_bytes",
                    {{"child", "ramswap"}, {"device", "/dev/loop7"}}),
            4096);
  EXPECT_EQ(e.value("mlock_supervisor_child_swap_state", {{"child", "ramswap"}, {"state", "on"}}),
            1);
  EXPECT_EQ(e.value("mlock_supervisor_child_swap_state", {{"child", "ramswap"}, {"state", "off"}}),
            0);
}

}  // namespace
}  // namespace duende::supervisor
