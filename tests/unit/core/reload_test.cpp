// Reload: the supervisor diffs the new configuration against the running one. Removed
// children stop and go, added ones start, changed ones restart, the rest are left alone;
// an invalid configuration changes nothing.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "supervisor_rig.hpp"

namespace duende::supervisor {
namespace {

using test::config_from_json;
using test::SupervisorRig;

constexpr const char* kBefore = R"({"children": {
    "keep":    {"exec": ["/bin/keep"], "ready": "exec", "mlock": {"required": false}},
    "change":  {"exec": ["/bin/change", "--old"], "ready": "exec", "mlock": {"required": false}},
    "remove":  {"exec": ["/bin/remove"], "ready": "exec", "mlock": {"required": false}}}})";
constexpr const char* kAfter = R"({"children": {
    "keep":    {"exec": ["/bin/keep"], "ready": "exec", "mlock": {"required": false}},
    "change":  {"exec": ["/bin/change", "--new"], "ready": "exec", "mlock": {"required": false}},
    "add":     {"exec": ["/bin/add"], "ready": "exec", "mlock": {"required": false}}}})";

std::vector<std::string> names(const Supervisor& sup) {
  std::vector<std::string> out;
  for (const auto& [name, child] : sup.children()) out.push_back(name);
  return out;
}

TEST(SupervisorReload, StopsRemovedStartsAddedRestartsChangedKeepsTheRest) {
  SupervisorRig rig(kBefore);
  rig.sup().start();
  const pid_t keep = rig.fake.last_pid("keep"), change = rig.fake.last_pid("change"),
              remove = rig.fake.last_pid("remove");
  const Config next = config_from_json(kAfter);
  rig.loader = [&] { return ConfigResult(next); };

  const auto result = rig.sup().reload();
  rig.fake.advance(std::chrono::milliseconds(1));  // the stopped processes die of SIGTERM
  rig.sup().collect_garbage();

  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_EQ(names(rig.sup()), (std::vector<std::string>{"add", "change", "keep"}));
  EXPECT_EQ(rig.fake.signals_to(remove), (std::vector<int>{SIGTERM}));
  EXPECT_FALSE(rig.fake.running(remove));
  EXPECT_EQ(rig.fake.signals_to(change), (std::vector<int>{SIGTERM}));
  EXPECT_TRUE(rig.fake.signals_to(keep).empty());

  EXPECT_EQ(rig.child("keep").pid(), keep);
  EXPECT_NE(rig.child("change").pid(), change);
  EXPECT_EQ(rig.child("change").pid(), rig.fake.last_pid("change"));
  EXPECT_EQ(rig.fake.spawns_of("change").back().request.argv,
            (std::vector<std::string>{"/bin/change", "--new"}));
  EXPECT_EQ(rig.state("change"), ChildState::Running);
  EXPECT_EQ(rig.child("change").spec().exec[1], "--new");
  ASSERT_EQ(rig.fake.spawns_of("add").size(), 1u);
  EXPECT_EQ(rig.state("add"), ChildState::Running);
  EXPECT_EQ(rig.fake.spawns().size(), 5u);  // 3 at start, "change" again, "add"
  EXPECT_EQ(rig.sup().config().start_order, (std::vector<std::string>{"add", "change", "keep"}));
  // RELOADING=1 (with the time), then READY=1 again.
  const auto& messages = rig.fake.service_messages();
  const auto reloading = std::find_if(messages.begin(), messages.end(), [](const std::string& m) {
    return m.rfind("RELOADING=1\n", 0) == 0;
  });
  ASSERT_NE(reloading, messages.end());
  EXPECT_EQ(*reloading, "RELOADING=1\nMONOTONIC_USEC=86400000000");
  EXPECT_EQ(std::count(reloading, messages.end(), "READY=1"), 1);
}

TEST(SupervisorReload, InvalidConfigurationChangesNothing) {
  SupervisorRig rig(kBefore);
  rig.sup().start();
  const std::size_t spawns = rig.fake.spawns().size();
  const Config before = rig.sup().config();
  rig.loader = [] {
    return ConfigResult(mlock::Unexpected(std::vector<ConfigProblem>{
        {"main.json", "/children/x/exec", "missing"}, {"main.json", "2:3", "syntax error"}}));
  };

  const auto result = rig.sup().reload();
  rig.fake.advance(SystemdNotifier::kStatusInterval);  // STATUS= is coalesced

  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().kind, ActionError::Kind::ConfigInvalid);
  EXPECT_EQ(result.error().message,
            "main.json: /children/x/exec: missing\nmain.json: 2:3: syntax error");
  EXPECT_EQ(rig.sup().config(), before);
  EXPECT_EQ(names(rig.sup()), (std::vector<std::string>{"change", "keep", "remove"}));
  EXPECT_EQ(rig.fake.spawns().size(), spawns);
  EXPECT_TRUE(rig.fake.signals().empty());
  for (const auto& [name, child] : rig.sup().children()) {
    EXPECT_EQ(child->state(), ChildState::Running) << name;
    EXPECT_EQ(child->pid(), rig.fake.last_pid(name)) << name;
  }
  EXPECT_EQ(rig.sup().state(), ManagerState::Running);
  EXPECT_EQ(rig.fake.service_messages().back(),
            "STATUS=0/3 children locked, 3 running, 0 B pinned; reload failed: 2 problem(s), "
            "running configuration kept");
}

// systemd takes READY=1 as "started": a reload while children are still starting must not
// send it before they are ready.
TEST(SupervisorReload, DuringStartupSendsReadyOnlyOnceTheChildrenAreReady) {
  constexpr const char* kSlow = R"({"children": {"slow": {
      "exec": ["/bin/slow"], "ready": "notify", "mlock": {"required": false}}}})";
  SupervisorRig rig(kSlow);
  rig.sup().start();
  const Config same = config_from_json(kSlow);
  rig.loader = [&] { return ConfigResult(same); };

  ASSERT_TRUE(rig.sup().reload().has_value());
  EXPECT_EQ(rig.state("slow"), ChildState::Starting);
  EXPECT_EQ(rig.sup().state(), ManagerState::Starting);
  const auto early = rig.fake.service_messages_starting("READY=1").size();
  rig.send("slow", "READY=1");

  EXPECT_EQ(rig.sup().state(), ManagerState::Running);
  EXPECT_EQ(early, 0u);
  EXPECT_EQ(rig.fake.service_messages_starting("READY=1").size(), 1u);
}

}  // namespace
}  // namespace duende::supervisor
