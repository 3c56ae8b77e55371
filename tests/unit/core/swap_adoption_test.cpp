// A supervisor that takes over a backend whose swap is on: it knows the swap is on (from
// its state file and /proc/swaps), never turns it on twice, and turns it off before a stop.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <string>
#include <vector>

#include "core/saved_state.hpp"
#include "swap_rig.hpp"

namespace duende::supervisor::test {
namespace {

struct Before {
  std::map<std::string, std::string> files;
  pid_t pid = 0;
};

Before run_first(bool swap_on) {
  SupervisorRig first(swap_config("{}"));
  if (!swap_on) first.fake.tools.answer("/sbin/swapon", FakeTools::hanging());
  start_with_swap_on(first);
  EXPECT_EQ(first.child("backend").swap().state(), swap_on ? SwapState::On : SwapState::Activating);
  return Before{first.fake.state_files(), first.fake.last_pid("backend")};
}

SavedState saved_from(const std::map<std::string, std::string>& files) {
  std::vector<std::string> warnings;
  return assemble_saved_state(files, warnings);
}

TEST(SwapAdoption, SwapOnIsKnownAndNotTurnedOnAgain) {
  const Before before = run_first(true);
  SupervisorRig second(swap_config("{}"));
  second.fake.set_own_pid(2);
  second.fake.set_new_process_memory({.locked_bytes = 4096});
  ASSERT_EQ(second.fake.add_running_process(FakeSystem::start_time_of(before.pid)), before.pid);
  second.fake.tools.add_area({"/dev/loop7"});
  second.sup().start(saved_from(before.files));
  second.fake.advance(std::chrono::seconds(1));

  EXPECT_TRUE(second.fake.tools.runs().empty());
  EXPECT_EQ(second.child("backend").pid(), before.pid);
  EXPECT_EQ(second.child("backend").swap().state(), SwapState::On);
  EXPECT_EQ(second.child("backend").swap_device(), "/dev/loop7");  // from the state file

  second.fake.tools.answer("/sbin/swapoff", FakeTools::hanging());
  ASSERT_TRUE(second.sup().stop_child("backend"));
  second.round();
  EXPECT_EQ(second.fake.tools.argvs(),
            (std::vector<std::vector<std::string>>{{"/sbin/swapoff", "/dev/loop7"}}));
  EXPECT_TRUE(second.fake.signals_to(before.pid).empty());
}

TEST(SwapAdoption, ASwaponThatNeverHappenedIsDoneOnce) {
  const Before before = run_first(false);  // died while its swapon ran
  SupervisorRig second(swap_config("{}"));
  second.fake.set_own_pid(2);
  second.fake.set_new_process_memory({.locked_bytes = 4096});
  second.fake.add_running_process(FakeSystem::start_time_of(before.pid));
  second.sup().start(saved_from(before.files));
  second.fake.advance(std::chrono::seconds(2));
  EXPECT_EQ(second.fake.tools.argvs(),
            (std::vector<std::vector<std::string>>{{"/sbin/swapon", "/dev/loop7"}}));
  EXPECT_EQ(second.child("backend").swap().state(), SwapState::On);
}

TEST(SwapAdoption, SavedStateKeepsTheSwap) {
  SavedChild c;
  c.name = "backend";
  c.swap_device = "/dev/loop7";
  c.swap_active = true;
  const auto back = parse_saved_child(to_json(c));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->swap_device, "/dev/loop7");
  EXPECT_TRUE(back->swap_active);
}

}  // namespace
}  // namespace duende::supervisor::test
