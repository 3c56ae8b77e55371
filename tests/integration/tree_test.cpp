// A child is a tree of processes: the real daemon, real children that fork, double-fork
// and exec helpers, the kernel's cgroup v2 hierarchy (on the development hosts the hybrid
// one at /sys/fs/cgroup/unified, without controllers). Verdicts come from /proc: the
// processes' cgroups and VmLck, and whether they still exist.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "privilege.hpp"
#include "proc_peek.hpp"
#include "supervisor_harness.hpp"

namespace duende::itest {
namespace {

// The v2 cgroup of `pid` ("0::PATH" of /proc/PID/cgroup), "" when unknown.
std::string cgroup_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  return "";
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Where the daemon's cgroup base of children is ("cgroup v2: PATH" in its log).
bool has_cgroup_v2() {
  return std::filesystem::exists("/sys/fs/cgroup/unified/cgroup.procs") ||
         std::filesystem::exists("/sys/fs/cgroup/cgroup.procs");
}

#define SKIP_WITHOUT_CGROUPS()                                                       \
  do {                                                                               \
    if (geteuid() != 0) GTEST_SKIP() << "needs root: cgroups are made by root here"; \
    if (!has_cgroup_v2()) GTEST_SKIP() << "no cgroup v2 hierarchy on this host";     \
  } while (0)

TEST(ChildTree, ADoubleForkingDaemonIsFollowedNotRestartedAndStoppedWithItsTree) {
  SKIP_WITHOUT_CGROUPS();
  DUENDE_SKIP_IF_SANITIZED("ASan makes mlockall() a no-op: nothing would be locked");
  Harness h;
  const std::string pid_file = h.path("daemon.pid");
  Json c = test_child({"--double-fork", "--write-pid", pid_file, "--lock"});
  c["restart"] = "always";
  h.config["children"]["forker"] = c;
  h.start();
  const pid_t first = h.wait_child_pid("forker");
  ASSERT_GT(first, 0);
  pid_t daemon = 0;
  ASSERT_TRUE(h.wait_until([&] { return (daemon = read_pid(pid_file)) > 0; }));
  ASSERT_NE(daemon, first);
  // Its lock report comes from the grandchild, not the pid the supervisor started.
  ASSERT_TRUE(h.wait_for_log("forker: ready, locked ("));
  ASSERT_TRUE(h.wait_for_log("following pid " + std::to_string(daemon)));
  EXPECT_TRUE(ends_with(cgroup_of(daemon), "/child.forker")) << cgroup_of(daemon);
  EXPECT_GT(test::vm_lck(daemon), 0u);
  ASSERT_TRUE(h.wait_for_status("1/1 children locked, 1 running"));
  EXPECT_EQ(h.count("forker: restarting"), 0) << h.log_text();
  EXPECT_EQ(h.count("not a child"), 0) << "the grandchild's report was dropped";
  const std::string cgroup_dir = "/sys/fs/cgroup/unified" + cgroup_of(daemon);
  const std::string base_dir = cgroup_dir.substr(0, cgroup_dir.rfind('/'));
  EXPECT_TRUE(ends_with(base_dir, "/mlock-supervisor." + std::to_string(h.pid()))) << base_dir;

  ASSERT_EQ(h.stop(), 0);
  EXPECT_TRUE(h.wait_until([&] { return !process_alive(daemon); })) << "the daemon was leaked";
  EXPECT_GE(h.count("forker: stopped ("), 1) << h.log_text();
  EXPECT_FALSE(std::filesystem::exists(cgroup_dir)) << "its cgroup was left behind";
  EXPECT_FALSE(std::filesystem::exists(base_dir)) << "the supervisor's cgroup was left behind";
}

TEST(ChildTree, AForkedProcessThatRunsUnlockedIsALostLockAndIsNamed) {
  SKIP_WITHOUT_CGROUPS();
  DUENDE_SKIP_IF_SANITIZED("ASan makes mlockall() a no-op: nothing would be locked");
  Harness h;
  h.config["children"]["tree"] = test_child({"--lock", "--fork-unlocked"});
  h.start();
  const pid_t pid = h.wait_child_pid("tree");
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(h.wait_for_log("tree: ready, locked ("));
  // After the grace a helper gets to lock itself, the unlocked one is named.
  ASSERT_TRUE(h.wait_for_log("tree: lost its lock"));
  EXPECT_EQ(h.count(", unlocked: pid "), 1) << h.log_text();
  EXPECT_TRUE(h.wait_for_status("degraded: tree lost its lock"));
  EXPECT_GT(test::vm_lck(pid), 0u) << "the main process itself stays locked";
  ASSERT_EQ(h.stop(), 0);
}

TEST(ChildTree, AnExecdHelperReportsItsLockAndIsVerified) {
  SKIP_WITHOUT_CGROUPS();
  DUENDE_SKIP_IF_SANITIZED("ASan makes mlockall() a no-op: nothing would be locked");
  Harness h;
  const std::string helper_file = h.path("helper.pid");
  h.config["children"]["exec"] = test_child({"--lock", "--exec-helper", helper_file});
  h.start();
  const pid_t pid = h.wait_child_pid("exec");
  ASSERT_GT(pid, 0);
  pid_t helper = 0;
  ASSERT_TRUE(h.wait_until([&] { return (helper = read_pid(helper_file)) > 0; }));
  EXPECT_EQ(cgroup_of(helper), cgroup_of(pid));
  EXPECT_TRUE(ends_with(cgroup_of(helper), "/child.exec"));
  ASSERT_TRUE(h.wait_until([&] { return test::vm_lck(helper) > 0; }));
  ASSERT_TRUE(h.wait_for_status("1/1 children locked, 1 running"));
  // Longer than the grace an unlocked helper gets, and a few monitor ticks more.
  h.pause(2600);
  EXPECT_EQ(h.count("not a child"), 0) << "the helper's report was dropped";
  EXPECT_EQ(h.count("lost its lock"), 0) << h.log_text();
  ASSERT_EQ(h.stop(), 0);
  EXPECT_FALSE(process_alive(helper)) << "the helper was leaked";
}

// An unmodified program under the shim that forks without exec: the shim's fork handler
// locks the forked process again, and the supervisor finds every process of the tree
// locked. With the re-lock turned off, the same helper runs unlocked and is a lost lock.
class ShimForkTest : public testing::TestWithParam<bool> {};

TEST_P(ShimForkTest, AForkedProcessOfAShimLockedChildIsLockedUnlessReLockIsOff) {
  SKIP_WITHOUT_CGROUPS();
  DUENDE_SKIP_IF_SANITIZED("the preload shim cannot load into a sanitizer build");
  const bool relock = GetParam();
  Harness h;
  const std::string helper_file = h.path("helper.pid");
  Json c = test_child({"--fork-helper", helper_file});
  c["preload"] = true;
  if (!relock) c["mlock"] = {{"relock_after_fork", false}};
  h.config["children"]["shim"] = c;
  h.start();
  const pid_t pid = h.wait_child_pid("shim");
  ASSERT_GT(pid, 0);
  pid_t helper = 0;
  ASSERT_TRUE(h.wait_until([&] { return (helper = read_pid(helper_file)) > 0; }));
  EXPECT_EQ(cgroup_of(helper), cgroup_of(pid));
  ASSERT_TRUE(h.wait_for_log("shim: ready, locked ("));
  EXPECT_GT(test::vm_lck(pid), 0u);
  if (relock) {
    EXPECT_GT(test::vm_lck(helper), 0u) << "the forked process was not locked again";
    h.pause(2600);  // past the grace an unlocked process gets, and a few ticks more
    EXPECT_EQ(h.count("lost its lock"), 0) << h.log_text();
  } else {
    EXPECT_EQ(test::vm_lck(helper), 0u);
    ASSERT_TRUE(h.wait_for_log("shim: lost its lock"));
    EXPECT_EQ(h.count(", unlocked: pid " + std::to_string(helper) + " ("), 1) << h.log_text();
  }
  ASSERT_EQ(h.stop(), 0);
  EXPECT_FALSE(process_alive(helper));
}

INSTANTIATE_TEST_SUITE_P(ReLock, ShimForkTest, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& info) {
                           return info.param ? "On" : "Off";
                         });

TEST(ChildTree, StopEndsAProcessThatIgnoresTheStopSignalWithTheWholeTree) {
  SKIP_WITHOUT_CGROUPS();
  Harness h;
  // Both ignore SIGTERM: the helper inherits the disposition.
  Json c = unlocked_child({"--ignore-term", "--fork-unlocked"}, "exec");
  c["stop_timeout_sec"] = 0.3;
  h.config["children"]["stubborn"] = c;
  h.start();
  const pid_t pid = h.wait_child_pid("stubborn");
  ASSERT_GT(pid, 0);
  const std::string cgroup = "/sys/fs/cgroup/unified" + cgroup_of(pid);
  std::vector<pid_t> tree;
  ASSERT_TRUE(h.wait_until([&] {
    std::ifstream in(cgroup + "/cgroup.procs");
    tree.clear();
    for (long p; in >> p;) tree.push_back(static_cast<pid_t>(p));
    return tree.size() == 2;
  })) << cgroup;
  ASSERT_EQ(h.stop(), 0);
  for (const pid_t p : tree) EXPECT_FALSE(process_alive(p)) << "pid " << p << " was leaked";
  EXPECT_EQ(h.count("stubborn: did not stop within"), 1) << h.log_text();
}

TEST(ChildTree, WithoutACgroupV2HierarchyChildrenRunInProcessGroupsAndSaySo) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: a mount namespace without cgroup2";
  DUENDE_SKIP_IF_SANITIZED("ASan makes mlockall() a no-op: nothing would be locked");
  Harness h;
  h.config["children"]["plain"] = test_child({"--lock"});
  Harness::Launch launch;
  launch.without_cgroup2 = true;
  h.start(launch);
  const pid_t pid = h.wait_child_pid("plain");
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(h.wait_for_log("plain: ready, locked ("));
  EXPECT_EQ(h.count("children run in process groups: no cgroup v2 hierarchy is mounted"), 1)
      << h.log_text();
  EXPECT_TRUE(h.wait_for_status("1/1 children locked, 1 running, "));
  EXPECT_NE(h.last_status().find("; process groups only"), std::string::npos) << h.last_status();
  EXPECT_FALSE(ends_with(cgroup_of(pid), "/child.plain")) << cgroup_of(pid);
  EXPECT_GT(test::vm_lck(pid), 0u);
  ASSERT_EQ(h.stop(), 0);
}

}  // namespace
}  // namespace duende::itest
