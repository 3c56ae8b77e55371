// Signals as a subscriber sees them: PropertiesChanged follows a child that is killed and
// comes back (State, Pid, Restarts, LastExitStatus), carries only values that really
// changed, and never comes while nothing changes; a reload (the Reload method or SIGHUP)
// announces added and removed children with InterfacesAdded / InterfacesRemoved, and
// GetManagedObjects follows.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "bus_harness.hpp"
#include "privilege.hpp"
#include "proc_peek.hpp"

namespace duende::itest {
namespace {

// The values a property took in the PropertiesChanged signals seen on `path`, in order.
template <class T>
std::vector<T> values_seen(const std::vector<SeenSignal>& seen, const std::string& path,
                           const std::string& property) {
  std::vector<T> out;
  for (const auto& s : seen) {
    if (s.member != "PropertiesChanged" || s.path != path) continue;
    const auto it = s.changed.find(property);
    if (it != s.changed.end() && it->second.containsValueOfType<T>())
      out.push_back(it->second.get<T>());
  }
  return out;
}

// The index of the first signal `member` about `object` (InterfacesAdded/Removed) or on
// path `object` (PropertiesChanged); -1 when none.
int index_of(const std::vector<SeenSignal>& seen, const std::string& member,
             const std::string& object) {
  for (std::size_t i = 0; i < seen.size(); ++i)
    if (seen[i].member == member && (seen[i].object == object || seen[i].path == object))
      return static_cast<int>(i);
  return -1;
}

std::set<std::string> object_paths(const ManagedObjects& objects) {
  std::set<std::string> out;
  for (const auto& [path, interfaces] : objects) out.insert(path);
  return out;
}

// A Variant's value as text, to compare values of any type.
std::string text_of(const sdbus::Variant& v) {
  if (v.containsValueOfType<std::string>()) return "s:" + v.get<std::string>();
  if (v.containsValueOfType<bool>()) return v.get<bool>() ? "b:1" : "b:0";
  if (v.containsValueOfType<std::uint32_t>()) return "u:" + std::to_string(v.get<std::uint32_t>());
  if (v.containsValueOfType<std::int32_t>()) return "i:" + std::to_string(v.get<std::int32_t>());
  if (v.containsValueOfType<std::uint64_t>()) return "t:" + std::to_string(v.get<std::uint64_t>());
  if (v.containsValueOfType<std::vector<std::string>>()) {
    std::string out = "as:";
    for (const auto& s : v.get<std::vector<std::string>>()) out += s + "\x1f";
    return out;
  }
  using Tree =
      std::vector<sdbus::Struct<std::uint32_t, std::string, bool, std::uint64_t, std::uint64_t>>;
  if (v.containsValueOfType<Tree>()) {  // Processes: every field, so that a change shows
    std::string out = "a(usbtt):";
    for (const auto& p : v.get<Tree>())
      out += std::to_string(std::get<0>(p)) + "," + std::get<1>(p) + "," +
             (std::get<2>(p) ? "1" : "0") + "," + std::to_string(std::get<3>(p)) + "," +
             std::to_string(std::get<4>(p)) + "\x1f";
    return out;
  }
  // A type this function cannot show would make every two values look equal: say so.
  ADD_FAILURE() << "text_of: no rendering of type " << v.peekValueType();
  return "?" + v.peekValueType();
}

class BusSignals : public BusTest {
 protected:
  // Collects signals until `predicate` holds.
  bool seen_until(const std::function<bool(const std::vector<SeenSignal>&)>& predicate) {
    return eventually([&] {
      client().process();
      return predicate(client().seen());
    });
  }
};

TEST_F(BusSignals, PropertiesChangedFollowAChildKilledAndBackAgain) {
  Json phoenix = idle_child();
  phoenix["restart"] = "always";
  phoenix["start_limit_burst"] = 100;
  h.config["children"]["phoenix"] = phoenix;
  h.config["children"]["steady"] = idle_child();
  start_daemon();
  const Properties before = wait_child_state("phoenix", "running");
  wait_child_state("steady", "running");
  client().subscribe();
  const pid_t old_pid = static_cast<pid_t>(prop<std::uint32_t>(before, "Pid"));
  ASSERT_GT(old_pid, 0);
  const Properties initial = client().child_properties("phoenix");

  ASSERT_EQ(kill(old_pid, SIGKILL), 0);
  const std::string path = child_path("phoenix");
  pid_t new_pid = 0;
  ASSERT_TRUE(seen_until([&](const std::vector<SeenSignal>& seen) {
    const auto pids = values_seen<std::uint32_t>(seen, path, "Pid");
    const auto states = values_seen<std::string>(seen, path, "State");
    if (pids.empty() || pids.back() == 0 || states.empty() || states.back() != "running")
      return false;
    new_pid = static_cast<pid_t>(pids.back());
    return true;
  })) << "no PropertiesChanged brought phoenix back to running";

  const auto& seen = client().seen();
  const auto states = values_seen<std::string>(seen, path, "State");
  const auto pids = values_seen<std::uint32_t>(seen, path, "Pid");
  // Down (no process) before up again: backoff, then starting, then running.
  const auto backoff = std::find(states.begin(), states.end(), "backoff");
  ASSERT_NE(backoff, states.end()) << "State never went to backoff";
  EXPECT_NE(std::find(backoff, states.end(), "starting"), states.end());
  EXPECT_EQ(states.back(), "running");
  EXPECT_NE(std::find(pids.begin(), pids.end(), 0u), pids.end()) << "Pid never went to 0";
  EXPECT_NE(new_pid, old_pid);
  EXPECT_EQ(h.child_pids("phoenix").back(), new_pid);
  EXPECT_EQ(values_seen<std::int32_t>(seen, path, "LastExitStatus"),
            std::vector<std::int32_t>{-SIGKILL});
  EXPECT_EQ(values_seen<std::uint32_t>(seen, path, "Restarts"), std::vector<std::uint32_t>{1});

  // Each signal carries values (emits-change, nothing merely invalidated), only of its
  // own interface, and only values that differ from the ones before.
  std::map<std::string, std::string> known;
  for (const auto& [key, value] : initial) known[key] = text_of(value);
  for (const auto& s : seen) {
    if (s.member != "PropertiesChanged") continue;
    EXPECT_TRUE(s.invalidated.empty());
    EXPECT_FALSE(s.changed.empty());
    EXPECT_EQ(s.changed_interface, s.path == kManagerPath ? kManagerInterface : kChildInterface);
    if (s.path != path) continue;
    for (const auto& [key, value] : s.changed) {
      EXPECT_NE(known[key], text_of(value)) << key << " announced without a change";
      known[key] = text_of(value);
    }
  }
  // Nothing happened to the other child.
  EXPECT_EQ(values_seen<std::string>(seen, child_path("steady"), "State").size(), 0u);
  EXPECT_EQ(values_seen<std::uint32_t>(seen, child_path("steady"), "Pid").size(), 0u);
}

TEST_F(BusSignals, NoPropertiesChangedWhileNothingChanges) {
  h.config["children"]["still"] = idle_child({"--touch-mib", "1"});
  h.config["children"]["locked"] = locking_child();
  start_daemon();
  const pid_t still =
      static_cast<pid_t>(prop<std::uint32_t>(wait_child_state("still", "running"), "Pid"));
  const pid_t locked =
      static_cast<pid_t>(prop<std::uint32_t>(wait_child_state("locked", "running"), "Pid"));
  client().subscribe();
  // Let whatever was in flight (the first figures after ready) arrive: a quiet 0.5 s.
  std::size_t count = 0;
  auto quiet_since = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] {
    client().process();
    if (client().seen().size() != count) {
      count = client().seen().size();
      quiet_since = std::chrono::steady_clock::now();
    }
    return std::chrono::steady_clock::now() - quiet_since > std::chrono::milliseconds(500);
  })) << "signals never stopped coming";
  client().seen().clear();
  const auto figures = [](pid_t pid) {
    return std::vector<std::uint64_t>{test::vm_lck(pid),
                                      test::status_field(pid, "VmRSS").value_or(0),
                                      test::status_field(pid, "VmSwap").value_or(0)};
  };
  const auto still_before = figures(still), locked_before = figures(locked);

  // Ten monitor intervals.
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(1000);
  while (std::chrono::steady_clock::now() < end) {
    h.pause(50);
    client().process();
  }
  // The premise: nothing changed in /proc either.
  ASSERT_EQ(figures(still), still_before);
  ASSERT_EQ(figures(locked), locked_before);
  for (const auto& s : client().seen()) {
    std::string keys;
    for (const auto& [key, value] : s.changed) keys += key + "=" + text_of(value) + " ";
    ADD_FAILURE() << "unexpected " << s.member << " on " << s.path << ": " << keys;
  }
  EXPECT_EQ(h.child_pids("still").size(), 1u);
}

TEST_F(BusSignals, ReloadMethodAnnouncesAddedAndRemovedChildren) {
  h.config["children"]["keep"] = idle_child();
  h.config["children"]["gone"] = idle_child();
  start_daemon();
  wait_child_state("keep", "running");
  wait_child_state("gone", "running");
  client().subscribe();

  h.config["children"].erase("gone");
  h.config["children"]["new-one"] = idle_child();
  h.write_config();
  const CallError reload = client().call(kManagerPath, kManagerInterface, "Reload");
  ASSERT_FALSE(reload) << reload.name << ": " << reload.message;

  const std::string added = child_path("new-one"), removed = child_path("gone");
  ASSERT_TRUE(seen_until([&](const std::vector<SeenSignal>& seen) {
    return index_of(seen, "InterfacesAdded", added) >= 0 &&
           index_of(seen, "InterfacesRemoved", removed) >= 0;
  })) << "InterfacesAdded/Removed never seen";
  const auto& seen = client().seen();
  const SeenSignal& add = seen[index_of(seen, "InterfacesAdded", added)];
  EXPECT_EQ(add.path, kManagerPath);
  EXPECT_EQ(add.interface, kObjectManagerInterface);
  ASSERT_TRUE(add.added.count(kChildInterface));
  EXPECT_EQ(prop<std::string>(add.added.at(kChildInterface), "Name"), "new-one");
  EXPECT_EQ(add.added.at(kChildInterface).size(), kChildPropertyTypes.size());
  const SeenSignal& remove = seen[index_of(seen, "InterfacesRemoved", removed)];
  EXPECT_EQ(remove.path, kManagerPath);
  EXPECT_NE(std::find(remove.removed.begin(), remove.removed.end(), kChildInterface),
            remove.removed.end());
  // The new object is announced before anything about it changes.
  wait_child_state("new-one", "running");
  client().process();
  const int first_change = index_of(seen, "PropertiesChanged", added);
  ASSERT_GE(first_change, 0) << "new-one started without a PropertiesChanged";
  EXPECT_LT(index_of(seen, "InterfacesAdded", added), first_change);
  EXPECT_EQ(index_of(seen, "InterfacesAdded", child_path("keep")), -1);

  EXPECT_TRUE(eventually([&] {
    return object_paths(client().managed_objects()) ==
           std::set<std::string>{child_path("keep"), added};
  })) << "GetManagedObjects does not show the reloaded set";
  EXPECT_EQ(prop<std::uint32_t>(client().manager_properties(), "ChildCount"), 2u);
  EXPECT_EQ(client().manager_call("GetChild", "gone").name,
            std::string(kErrorPrefix) + "NoSuchChild");
  // The removed object is gone from the bus.
  EXPECT_TRUE(client().call(removed, kPropertiesInterface, "GetAll", std::string(kChildInterface)));
  EXPECT_EQ(h.child_pids("keep").size(), 1u);
}

TEST_F(BusSignals, SighupAnnouncesAChildAddedByADropinAndRemovedAgain) {
  h.config["children"]["base"] = idle_child();
  start_daemon();
  wait_child_state("base", "running");
  client().subscribe();
  const std::string dropin = h.dropin_dir() + "/50-extra.json";
  const std::string extra = child_path("extra");

  h.write_file(dropin, Json{{"children", {{"extra", idle_child()}}}}.dump());
  h.send_signal(SIGHUP);
  ASSERT_TRUE(seen_until([&](const std::vector<SeenSignal>& seen) {
    return index_of(seen, "InterfacesAdded", extra) >= 0;
  }));
  wait_child_state("extra", "running");
  EXPECT_EQ(object_paths(client().managed_objects()),
            (std::set<std::string>{child_path("base"), extra}));

  std::remove(dropin.c_str());
  h.send_signal(SIGHUP);
  ASSERT_TRUE(seen_until([&](const std::vector<SeenSignal>& seen) {
    return index_of(seen, "InterfacesRemoved", extra) >= 0;
  }));
  EXPECT_EQ(object_paths(client().managed_objects()), std::set<std::string>{child_path("base")});
  // Nothing about it after its removal.
  const auto& seen = client().seen();
  for (std::size_t i = index_of(seen, "InterfacesRemoved", extra) + 1; i < seen.size(); ++i)
    EXPECT_NE(seen[i].path, extra) << seen[i].member;
}

TEST_F(BusSignals, LockLostWhenAChildThatMustBeLockedUnlocks) {
  DUENDE_REQUIRE_LOCKING();
  Json swap0 = locking_child();
  swap0["exec"].push_back("--unlock-when");
  swap0["exec"].push_back(h.path("unlock"));
  h.config["children"]["swap0"] = swap0;
  start_daemon();
  wait_child_state("swap0", "running");
  ASSERT_TRUE(
      eventually([&] { return prop<bool>(client().child_properties("swap0"), "IsLocked"); }));
  client().subscribe();
  h.write_file(h.path("unlock"), "");
  ASSERT_TRUE(seen_until([&](const std::vector<SeenSignal>& seen) {
    return index_of(seen, "LockLost", kManagerPath) >= 0;
  })) << "no LockLost";
  const auto& seen = client().seen();
  const SeenSignal& lost = seen[index_of(seen, "LockLost", kManagerPath)];
  EXPECT_EQ(lost.interface, kManagerInterface);
  EXPECT_EQ(lost.child, "swap0");
  EXPECT_EQ(lost.locked_bytes, 0u);
  EXPECT_EQ(lost.swapped_bytes, 0u);
  const std::string path = child_path("swap0");
  ASSERT_TRUE(seen_until([&](const std::vector<SeenSignal>& s) {
    const auto states = values_seen<std::string>(s, kManagerPath, "State");
    return !states.empty() && states.back() == "degraded";
  })) << "the manager never said degraded";
  EXPECT_EQ(values_seen<bool>(seen, path, "IsLocked"), std::vector<bool>{false});
  EXPECT_EQ(values_seen<std::uint64_t>(seen, path, "LockedBytes").back(), 0u);
  EXPECT_EQ(values_seen<std::uint32_t>(seen, kManagerPath, "LockedChildCount").back(), 0u);
  EXPECT_EQ(values_seen<std::uint64_t>(seen, kManagerPath, "TotalLockedBytes").back(), 0u);
  // Once per loss, not at every monitor tick.
  h.pause(500);
  client().process();
  EXPECT_EQ(std::count_if(seen.begin(), seen.end(),
                          [](const SeenSignal& s) { return s.member == "LockLost"; }),
            1);
  // Still running (on_lock_lost "warn"), and mlockctl calls it trouble.
  EXPECT_EQ(prop<std::string>(client().child_properties("swap0"), "State"), "running");
  const RunResult status = mlockctl({"status"});
  EXPECT_EQ(status.exit_code, 3) << status.out;
  EXPECT_NE(status.out.find("swap0: must be locked but VmLck is 0"), std::string::npos)
      << status.out;
}

// SelfLocked/SelfLockedBytes are emits-change properties: the daemon's own VmLck moves
// (under MCL_FUTURE heap growth is locked), and a client mirroring the manager from
// PropertiesChanged must see it. The monitor tick publishes the manager's real changes.
TEST_F(BusSignals, TheDaemonsOwnLockedBytesAreAnnouncedWhenTheyChange) {
  DUENDE_REQUIRE_LOCKING();
  h.config["children"]["still"] = idle_child();
  start_daemon();
  wait_child_state("still", "running");
  client().subscribe();
  const std::uint64_t before = test::vm_lck(h.pid());
  // Large messages: glibc serves the first from mmap, then raises its mmap threshold and
  // serves the next ones from the heap, whose growth stays (and is locked).
  for (int i = 0; i < 5; ++i) client().manager_call("GetChild", std::string(4 << 20, 'x'));
  if (test::vm_lck(h.pid()) == before) GTEST_SKIP() << "the daemon's VmLck did not move";
  // Fifty monitor intervals.
  const bool announced = eventually(
      [&] {
        client().process();
        const auto values =
            values_seen<std::uint64_t>(client().seen(), kManagerPath, "SelfLockedBytes");
        return !values.empty() &&
               values.back() ==
                   prop<std::uint64_t>(client().manager_properties(), "SelfLockedBytes");
      },
      std::chrono::milliseconds(5000));
  EXPECT_TRUE(announced) << "SelfLockedBytes went from " << before << " to "
                         << test::vm_lck(h.pid()) << " without a PropertiesChanged";
}

}  // namespace
}  // namespace duende::itest
