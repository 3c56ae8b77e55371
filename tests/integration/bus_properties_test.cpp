// What the bus shows equals what the kernel says: every Child property against
// /proc/PID/status of that child, the Manager's sums against the children's and the
// daemon's own VmLck; ListChildren, GetChild and GetManagedObjects agree with the objects.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "bus_harness.hpp"
#include "ctl/ctl_decode.hpp"
#include "privilege.hpp"
#include "proc_peek.hpp"

namespace duende::itest {
namespace {

// VmLck, VmSwap, VmRSS of a process, in bytes.
struct ProcFigures {
  std::uint64_t locked = 0, swapped = 0, resident = 0;
};

ProcFigures proc_figures(pid_t pid) {
  return {test::status_field(pid, "VmLck").value_or(0),
          test::status_field(pid, "VmSwap").value_or(0),
          test::status_field(pid, "VmRSS").value_or(0)};
}

// VmRSS moves by a page here and there (the kernel's accounting is per-CPU batched):
// ResidentBytes is the daemon's reading of it at its last monitor tick.
constexpr std::uint64_t kRssTolerance = 1 << 20;

bool close_enough(std::uint64_t a, std::uint64_t b) {
  return (a > b ? a - b : b - a) <= kRssTolerance;
}

// Wall-clock microseconds since the epoch, as the *At properties count.
std::uint64_t now_us() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// A timestamp `at` taken after `since` (with a second's slack for clock steps) and not in
// the future.
bool recent(std::uint64_t at, std::uint64_t since) {
  return at + 1000000 >= since && at <= now_us() + 1000000;
}

class BusProperties : public BusTest {
 protected:
  void SetUp() override {
    BusTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    h.config["children"]["demo-lib"] = locking_child();
    h.config["children"]["idle"] = idle_child({"--touch-mib", "1"});
    started_ = now_us();
    start_daemon();
    wait_child_state("demo-lib", "running");
    wait_child_state("idle", "running");
  }

  // Child `name`'s properties and its /proc figures, read until the daemon's figures
  // (refreshed every monitor tick) match the kernel's read between two Get calls.
  std::uint64_t started_ = 0;  // just before the daemon started

  std::pair<Properties, ProcFigures> stable_child(const std::string& name) {
    Properties props;
    ProcFigures proc;
    const bool stable = eventually([&] {
      props = client().child_properties(name);
      const auto pid = static_cast<pid_t>(prop<std::uint32_t>(props, "Pid"));
      proc = proc_figures(pid);
      const Properties again = client().child_properties(name);
      return prop<std::uint64_t>(props, "LockedBytes") == proc.locked &&
             prop<std::uint64_t>(again, "LockedBytes") == proc.locked &&
             prop<std::uint64_t>(props, "SwappedBytes") == proc.swapped &&
             close_enough(prop<std::uint64_t>(props, "ResidentBytes"), proc.resident) &&
             prop<std::uint32_t>(again, "Pid") == static_cast<std::uint32_t>(pid);
    });
    EXPECT_TRUE(stable) << name << ": the bus never agreed with /proc";
    return {props, proc};
  }
};

TEST_F(BusProperties, EveryChildPropertyEqualsProc) {
  for (const std::string name : {"demo-lib", "idle"}) {
    SCOPED_TRACE(name);
    const auto [props, proc] = stable_child(name);
    const auto pid = static_cast<pid_t>(prop<std::uint32_t>(props, "Pid"));
    EXPECT_EQ(h.child_pids(name), std::vector<pid_t>{pid});
    EXPECT_TRUE(process_alive(pid));
    EXPECT_EQ(prop<std::string>(props, "Name"), name);
    EXPECT_EQ(prop<std::string>(props, "State"), "running");
    EXPECT_EQ(prop<std::uint64_t>(props, "LockedBytes"), proc.locked);
    EXPECT_EQ(prop<std::uint64_t>(props, "SwappedBytes"), proc.swapped);
    EXPECT_PRED2(close_enough, prop<std::uint64_t>(props, "ResidentBytes"), proc.resident);
    EXPECT_GT(prop<std::uint64_t>(props, "ResidentBytes"), 0u);
    EXPECT_EQ(prop<bool>(props, "IsLocked"), proc.locked > 0);
    EXPECT_EQ(prop<std::uint32_t>(props, "Restarts"), 0u);
    EXPECT_EQ(prop<std::int32_t>(props, "LastExitStatus"), 0);
    EXPECT_EQ(prop<std::string>(props, "LastFailure"), "");
    EXPECT_EQ(prop<std::string>(props, "LastExitCode"), "") << "no exit yet";
    EXPECT_EQ(prop<std::uint64_t>(props, "ExitedAt"), 0u);
    EXPECT_EQ(prop<std::uint32_t>(props, "LockLosses"), 0u);
    EXPECT_PRED2(recent, prop<std::uint64_t>(props, "StateChangedAt"), started_);
    EXPECT_GE(prop<std::uint64_t>(props, "StateChangedAt"), prop<std::uint64_t>(props, "StartedAt"))
        << "running since it became ready";
    // Started by this supervisor, a moment ago; not adopted.
    EXPECT_PRED2(recent, prop<std::uint64_t>(props, "StartedAt"), started_);
    EXPECT_FALSE(prop<bool>(props, "Adopted"));
    EXPECT_EQ(prop<std::uint64_t>(props, "AdoptedAt"), 0u);
    std::vector<std::string> command;
    for (const auto& arg : h.config["children"][name]["exec"])
      command.push_back(arg.get<std::string>());
    EXPECT_EQ(prop<std::vector<std::string>>(props, "Command"), command);
    // A child of one process: its tree is that process, with the same figures.
    using Tree =
        std::vector<sdbus::Struct<std::uint32_t, std::string, bool, std::uint64_t, std::uint64_t>>;
    const Tree tree = prop<Tree>(props, "Processes");
    ASSERT_EQ(tree.size(), 1u) << name;
    EXPECT_EQ(std::get<0>(tree[0]), prop<std::uint32_t>(props, "Pid"));
    EXPECT_EQ(std::get<1>(tree[0]), "mlock-test-chil") << "its comm (15 characters)";
    EXPECT_EQ(std::get<2>(tree[0]), prop<bool>(props, "IsLocked"));
    EXPECT_EQ(std::get<3>(tree[0]), prop<std::uint64_t>(props, "LockedBytes"));
    EXPECT_EQ(prop<std::uint32_t>(props, "UnlockedProcesses"), 0u);
    // Its threads were read with the tree (a single-threaded program), and nothing asked
    // it to be an I/O flusher: it is not one, and that is no trouble.
    EXPECT_GE(prop<std::uint32_t>(props, "Threads"), 1u) << name;
    EXPECT_EQ(prop<std::uint32_t>(props, "IoFlusherThreads"), 0u) << name;
    EXPECT_EQ(prop<std::string>(props, "IoFlusher"), "no") << name;
    EXPECT_FALSE(prop<bool>(props, "WantsIoFlusher"));
    EXPECT_EQ(prop<std::uint32_t>(props, "OomKills"), 0u);
    EXPECT_EQ(prop<std::uint64_t>(props, "SwappedShmemBytes"), 0u);
    EXPECT_EQ(prop<std::string>(props, "SwapState"), "off");  // no "swap" configured
    EXPECT_EQ(prop<std::string>(props, "SwapDevice"), "");
    if (geteuid() == 0) {  // root holds CAP_IPC_LOCK: no memlock limit applies to it
      EXPECT_EQ(prop<std::uint64_t>(props, "MemlockHeadroomBytes"), UINT64_MAX);
    }
    // Every property of the interface is there with its type (prop() checks types).
    EXPECT_EQ(props.size(), kChildPropertyTypes.size());
    for (const auto& [key, type] : kChildPropertyTypes) {
      ASSERT_TRUE(props.count(key)) << key;
      EXPECT_EQ(props.at(key).peekValueType(), type) << key;
    }
  }
  // The unlocked one says so, and that it need not be locked.
  const Properties idle = client().child_properties("idle");
  EXPECT_FALSE(prop<bool>(idle, "MustBeLocked"));
  EXPECT_FALSE(prop<bool>(idle, "IsLocked"));
  EXPECT_FALSE(prop<bool>(idle, "FullyLocked"));
  // Unlocked, all it has resident may be swapped out (its smaps' Rss, at the last walk).
  EXPECT_GT(prop<std::uint64_t>(idle, "ResidentUnlockedBytes"), 0u);
  EXPECT_EQ(prop<std::string>(idle, "LockReport"), "");
}

TEST_F(BusProperties, LockedChildShowsItsLockAndReport) {
  DUENDE_REQUIRE_LOCKING();
  const auto [props, proc] = stable_child("demo-lib");
  EXPECT_GT(proc.locked, 0u);
  EXPECT_EQ(prop<std::uint64_t>(props, "LockedBytes"), proc.locked);
  EXPECT_TRUE(prop<bool>(props, "IsLocked"));
  EXPECT_TRUE(prop<bool>(props, "MustBeLocked"));
  EXPECT_TRUE(prop<bool>(props, "FullyLocked"));  // the check that follows its report
  EXPECT_EQ(prop<std::uint64_t>(props, "ResidentUnlockedBytes"), 0u) << "nothing unlocked";
  EXPECT_EQ(prop<std::string>(props, "LockReport").rfind("locked (", 0), 0u)
      << prop<std::string>(props, "LockReport");
  EXPECT_EQ(prop<std::uint64_t>(props, "SwappedBytes"), 0u);
}

TEST_F(BusProperties, ManagerPropertiesAddUpTheChildrenAndTheDaemon) {
  Properties manager;
  ProcFigures self;
  std::uint64_t sum = 0;
  std::uint32_t locked_children = 0;
  // The children's figures are those of the last tick, the daemon's own are read at each
  // Get: re-read until two Gets bracket a /proc read with the same values.
  const bool stable = eventually([&] {
    manager = client().manager_properties();
    sum = 0;
    locked_children = 0;
    for (const std::string name : {"demo-lib", "idle"}) {
      const Properties c = client().child_properties(name);
      const std::uint64_t vm_lck = test::vm_lck(static_cast<pid_t>(prop<std::uint32_t>(c, "Pid")));
      sum += vm_lck;
      if (vm_lck > 0) ++locked_children;
    }
    self = proc_figures(h.pid());
    const Properties again = client().manager_properties();
    return prop<std::uint64_t>(manager, "TotalLockedBytes") == sum &&
           prop<std::uint64_t>(again, "TotalLockedBytes") == sum &&
           prop<std::uint32_t>(manager, "LockedChildCount") == locked_children &&
           prop<std::uint64_t>(manager, "SelfLockedBytes") == self.locked &&
           prop<std::uint64_t>(again, "SelfLockedBytes") == self.locked;
  });
  EXPECT_TRUE(stable) << "the manager never agreed with /proc";
  EXPECT_EQ(prop<std::string>(manager, "Version"), kVersion);
  EXPECT_EQ(prop<std::string>(manager, "State"), "running");
  EXPECT_EQ(prop<std::uint32_t>(manager, "ChildCount"), 2u);
  EXPECT_EQ(prop<std::uint32_t>(manager, "LockedChildCount"), locked_children);
  EXPECT_EQ(prop<std::uint64_t>(manager, "TotalLockedBytes"), sum);
  EXPECT_EQ(prop<std::uint64_t>(manager, "SelfLockedBytes"), self.locked);
  EXPECT_EQ(prop<bool>(manager, "SelfLocked"), self.locked > 0);
  // A first start: no predecessor, no re-exec.
  EXPECT_PRED2(recent, prop<std::uint64_t>(manager, "StartedAt"), started_);
  EXPECT_LE(prop<std::uint64_t>(manager, "StartedAt"),
            prop<std::uint64_t>(client().child_properties("idle"), "StartedAt"))
      << "the supervisor started before its children";
  EXPECT_EQ(prop<std::uint32_t>(manager, "Restarts"), 0u);
  EXPECT_EQ(prop<std::uint32_t>(manager, "Reexecs"), 0u);
  EXPECT_EQ(prop<std::string>(manager, "ReexecFailure"), "");
  // Children's trees in cgroups wherever root finds a cgroup v2 hierarchy (CI does).
  const std::string tracking = prop<std::string>(manager, "ProcessTracking");
  if (geteuid() == 0 && access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0)
    EXPECT_EQ(tracking.rfind("cgroup v2: /sys/fs/cgroup/unified/", 0), 0u) << tracking;
  else
    EXPECT_TRUE(tracking.rfind("cgroup v2: ", 0) == 0 || tracking.rfind("process groups: ", 0) == 0)
        << tracking;
  EXPECT_EQ(manager.size(), 12u);
  if (can_lock()) {
    EXPECT_TRUE(prop<bool>(manager, "SelfLocked"));
    EXPECT_EQ(locked_children, 1u);
    EXPECT_GT(sum, 0u);
  }
}

TEST_F(BusProperties, ListChildrenGetChildAndManagedObjectsAgree) {
  // GetChild escapes as sd_bus_path_encode does.
  sdbus::ObjectPath path;
  auto proxy = sdbus::createProxy(client().connection(), kBusName, kManagerPath);
  proxy->callMethod("GetChild")
      .onInterface(kManagerInterface)
      .withArguments(std::string("demo-lib"))
      .storeResultsTo(path);
  EXPECT_EQ(std::string(path), "/org/duende/MlockSupervisor1/child/demo_2dlib");
  proxy->callMethod("GetChild")
      .onInterface(kManagerInterface)
      .withArguments(std::string("idle"))
      .storeResultsTo(path);
  EXPECT_EQ(std::string(path), "/org/duende/MlockSupervisor1/child/idle");

  // Stable children: one snapshot of each view says the same.
  eventually([&] {
    const auto rows = client().list_children();
    const ManagedObjects objects = client().managed_objects();
    if (rows.size() != 2 || objects.size() != 2) return false;
    for (const auto& row : rows) {
      const auto it = objects.find(sdbus::ObjectPath(child_path(row.get<0>())));
      if (it == objects.end() || !it->second.count(kChildInterface)) return false;
      const Properties& p = it->second.at(kChildInterface);
      if (p.at("LockedBytes").get<std::uint64_t>() != row.get<4>()) return false;
    }
    return true;
  });
  const auto rows = client().list_children();
  const ManagedObjects objects = client().managed_objects();
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_EQ(objects.size(), 2u) << "GetManagedObjects lists the children, not the manager";
  for (const auto& row : rows) {
    const std::string& name = row.get<0>();
    SCOPED_TRACE(name);
    const auto it = objects.find(sdbus::ObjectPath(child_path(name)));
    ASSERT_NE(it, objects.end());
    ASSERT_TRUE(it->second.count(kChildInterface));
    const Properties& p = it->second.at(kChildInterface);
    EXPECT_EQ(prop<std::string>(p, "Name"), name);
    EXPECT_EQ(prop<std::string>(p, "State"), row.get<1>());
    EXPECT_EQ(prop<std::uint32_t>(p, "Pid"), row.get<2>());
    EXPECT_EQ(prop<bool>(p, "IsLocked"), row.get<3>());
    EXPECT_EQ(prop<std::uint64_t>(p, "LockedBytes"), row.get<4>());
    EXPECT_EQ(prop<std::uint64_t>(p, "SwappedBytes"), row.get<5>());
    EXPECT_EQ(p.size(), kChildPropertyTypes.size());
  }
}

// ListChildProperties says what GetManagedObjects says, and mlockctl's decoders (of its
// rows, of GetManagedObjects read straight from the message) agree field by field with
// sdbus-c++'s own decoding into Variants.
TEST_F(BusProperties, ListChildPropertiesSaysWhatGetManagedObjectsSays) {
  using supervisor::ChildProperties;
  auto proxy = sdbus::createProxy(client().connection(), kBusName, kManagerPath);
  const auto by_name = [](std::vector<ChildProperties> v) {
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return v;
  };
  std::vector<ChildProperties> rows, objects, variants;
  // Stable children (a monitor tick may land between the calls): the three reads agree.
  const bool agree = eventually([&] {
    auto list =
        proxy->callMethod(proxy->createMethodCall(kManagerInterface, "ListChildProperties"));
    const auto decoded = supervisor::children_from_rows(list);
    if (!decoded) return false;
    rows = *decoded;
    auto managed =
        proxy->callMethod(proxy->createMethodCall(kObjectManagerInterface, "GetManagedObjects"));
    objects = by_name(supervisor::children_from_managed_objects(managed));
    variants.clear();
    for (const auto& [path, interfaces] : client().managed_objects())
      variants.push_back(supervisor::child_from(path, interfaces.at(kChildInterface), {}));
    variants = by_name(variants);
    // (and a monitor tick has measured each child)
    const bool measured =
        std::all_of(rows.begin(), rows.end(), [](const auto& c) { return c.resident_bytes > 0; });
    return measured && rows == objects && objects == variants;
  });
  EXPECT_TRUE(agree);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows, objects);
  EXPECT_EQ(objects, variants);
  EXPECT_EQ(rows[0].name, "demo-lib");  // by name
  EXPECT_EQ(rows[1].name, "idle");
  for (const ChildProperties& c : rows) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(c.pid, static_cast<std::uint32_t>(h.wait_child_pid(c.name)));
    EXPECT_EQ(c.state, "running");
    EXPECT_GT(c.started_at_us, 0u);
    EXPECT_GT(c.resident_bytes, 0u);
    ASSERT_EQ(c.processes.size(), 1u);
    EXPECT_EQ(c.processes[0].pid, c.pid);
    EXPECT_FALSE(c.command.empty());
  }
}

class BusPropertiesOfAFailedChild : public BusTest {};

TEST_F(BusPropertiesOfAFailedChild, ShowsItsExitStatusFailureAndNoProcess) {
  Json quitter = idle_child({"--exit-after-ms", "0", "--exit-code", "3"});
  quitter["restart"] = "no";
  h.config["children"]["quitter"] = quitter;
  h.config["children"]["ghost"] = failing_child();
  start_daemon();
  const Properties q = wait_child_state("quitter", "failed");
  EXPECT_EQ(prop<std::uint32_t>(q, "Pid"), 0u);
  EXPECT_EQ(prop<std::int32_t>(q, "LastExitStatus"), 3);
  EXPECT_NE(prop<std::string>(q, "LastFailure").find("3"), std::string::npos)
      << prop<std::string>(q, "LastFailure");
  EXPECT_FALSE(prop<bool>(q, "IsLocked"));
  EXPECT_EQ(prop<std::uint64_t>(q, "LockedBytes"), 0u);
  EXPECT_EQ(prop<std::uint64_t>(q, "ResidentBytes"), 0u);
  EXPECT_EQ(prop<std::uint64_t>(q, "StartedAt"), 0u) << "no process, no start time";
  EXPECT_EQ(prop<std::string>(q, "LastExitCode"), "exited");
  EXPECT_GT(prop<std::uint64_t>(q, "ExitedAt"), 0u);
  EXPECT_LE(prop<std::uint64_t>(q, "ExitedAt"), prop<std::uint64_t>(q, "StateChangedAt"))
      << "failed once it had exited";
  const Properties g = wait_child_state("ghost", "failed");
  EXPECT_EQ(prop<std::uint32_t>(g, "Pid"), 0u);
  EXPECT_EQ(prop<std::string>(g, "LastFailure"),
            "exec /nonexistent/prog: No such file or directory");
  EXPECT_TRUE(eventually(
      [&] { return prop<std::string>(client().manager_properties(), "State") == "degraded"; }));
}

TEST_F(BusPropertiesOfAFailedChild, TheStartLimitKeepsTheCauseInLastFailure) {
  Json ghost = failing_child();
  ghost["restart"] = "on-failure";
  ghost["restart_sec"] = 0.05;
  ghost["restart_max_sec"] = 0.05;
  ghost["start_limit_burst"] = 2;
  h.config["children"]["ghost"] = ghost;
  start_daemon();
  const Properties g = wait_child_state("ghost", "failed");
  EXPECT_EQ(prop<std::string>(g, "LastFailure"),
            "start limit hit: more than 2 starts in 60 s; last: exec /nonexistent/prog: No such "
            "file or directory");
  EXPECT_EQ(prop<std::string>(g, "LastExitCode"), "exited");
  EXPECT_EQ(prop<std::int32_t>(g, "LastExitStatus"), 127);
}

}  // namespace
}  // namespace duende::itest
