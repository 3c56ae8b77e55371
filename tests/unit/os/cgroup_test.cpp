// The cgroup parsers on fixtures (tests/data/cgroup), and Cgroups against the kernel: a
// child cgroup made, joined by a spawned process, emptied by cgroup.kill and removed.
#include "os/cgroup.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "fixture.hpp"
#include "os/spawn.hpp"

namespace duende::supervisor {
namespace {

bool kernel_at_least(int major, int minor) {
  utsname name{};
  int have_major = 0, have_minor = 0;
  if (uname(&name) != 0 || std::sscanf(name.release, "%d.%d", &have_major, &have_minor) != 2)
    return false;
  return have_major > major || (have_major == major && have_minor >= minor);
}

TEST(ParseCgroup2Mount, FindsTheUnifiedMountOfAHybridHost) {
  EXPECT_EQ(parse_cgroup2_mount(test::read_fixture("cgroup/mountinfo_hybrid.txt")),
            "/sys/fs/cgroup/unified");
}

TEST(ParseCgroup2Mount, FindsThePureV2MountWithOptionalFields) {
  EXPECT_EQ(parse_cgroup2_mount(test::read_fixture("cgroup/mountinfo_pure_v2.txt")),
            "/sys/fs/cgroup");
}

TEST(ParseCgroup2Mount, IsNoneOnAV1OnlyHost) {
  EXPECT_EQ(parse_cgroup2_mount(test::read_fixture("cgroup/mountinfo_v1_only.txt")), std::nullopt);
  EXPECT_EQ(parse_cgroup2_mount(""), std::nullopt);
  EXPECT_EQ(parse_cgroup2_mount("garbage without a separator\n"), std::nullopt);
}

TEST(ParseCgroup2Mount, UndoesOctalEscapes) {
  EXPECT_EQ(parse_cgroup2_mount(test::read_fixture("cgroup/mountinfo_escaped.txt")), "/mnt/cg two");
}

TEST(ParseCgroup2Mount, SkipsABindMountOfASubtree) {
  EXPECT_EQ(parse_cgroup2_mount(test::read_fixture("cgroup/mountinfo_bind_first.txt")),
            "/sys/fs/cgroup/unified");
}

TEST(ParseUnifiedCgroup, ReadsTheZeroLine) {
  EXPECT_EQ(parse_unified_cgroup("4:memory:/x\n0::/system.slice/a.service\n"),
            "/system.slice/a.service");
  EXPECT_EQ(parse_unified_cgroup("0::/\n"), "/");
  EXPECT_EQ(parse_unified_cgroup("0::/no/newline"), "/no/newline");
}

TEST(ParseUnifiedCgroup, IsNoneWithoutAV2LineOrForARemovedCgroup) {
  EXPECT_EQ(parse_unified_cgroup("4:memory:/x\n1:name=systemd:/\n"), std::nullopt);
  EXPECT_EQ(parse_unified_cgroup("0::relative\n"), std::nullopt);
  EXPECT_EQ(parse_unified_cgroup("0::\n"), std::nullopt);
  EXPECT_EQ(parse_unified_cgroup("0::/gone (deleted)\n"), std::nullopt);
}

TEST(ParsePidList, ReadsCgroupProcsAndChildrenListsAndSkipsJunk) {
  EXPECT_EQ(parse_pid_list("12\n345\n"), (std::vector<pid_t>{12, 345}));
  EXPECT_EQ(parse_pid_list("12\nx\n-3\n0\n99999999999\n7"), (std::vector<pid_t>{12, 7}));
  EXPECT_TRUE(parse_pid_list("").empty());
  EXPECT_EQ(parse_pid_list("12 345 7 "), (std::vector<pid_t>{12, 345, 7}));
}

TEST(Cgroups, UnusableSaysWhyAndMakesNothing) {
  const Cgroups c = Cgroups::unusable("no cgroup v2 hierarchy is mounted");
  EXPECT_FALSE(c.usable());
  EXPECT_EQ(c.description(), "process groups: no cgroup v2 hierarchy is mounted");
  std::vector<pid_t> leftovers;
  std::string warning;
  EXPECT_FALSE(c.prepare_child("a", true, leftovers, warning));
}

// Makes the child cgroup `name` below c's base and a request that starts `argv` there
// (req.cgroup_fd is open: the test closes it).
void prepare_request(const Cgroups& c, const std::string& name, std::vector<std::string> argv,
                     SpawnRequest& req) {
  std::vector<pid_t> leftovers;
  std::string warning;
  const auto path = c.prepare_child(name, false, leftovers, warning);
  ASSERT_TRUE(path) << path.error();
  EXPECT_TRUE(leftovers.empty());
  req.cgroup_fd = Cgroups::open_directory(*path);
  ASSERT_GE(req.cgroup_fd, 0);
  req.argv = std::move(argv);
  req.cgroup = *path;
}

// Against the kernel: needs root and a writable v2 hierarchy (CI has both).
TEST(Cgroups, AChildCgroupIsJoinedBeforeExecEmptiedByKillAndRemoved) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make cgroups";
  const Cgroups c = Cgroups::set_up(false);
  if (!c.usable()) GTEST_SKIP() << c.description();
  EXPECT_EQ(c.description().rfind("cgroup v2: ", 0), 0u) << c.description();
  SpawnRequest req;
  ASSERT_NO_FATAL_FAILURE(prepare_request(c, "unit", {"/bin/sleep", "60"}, req));
  const std::string& path = req.cgroup;
  auto spawned = spawn_process(req);
  close(req.cgroup_fd);
  ASSERT_TRUE(spawned) << spawned.error().message();
  if (kernel_at_least(5, 7)) {
    EXPECT_TRUE(spawned->born_in_cgroup) << "clone3 CLONE_INTO_CGROUP";
    EXPECT_EQ(spawned->clone3_error, 0);
  }
  EXPECT_EQ(Cgroups::processes(path, 16), std::vector<pid_t>{spawned->pid});
  EXPECT_TRUE(Cgroups::populated(path));
  EXPECT_EQ(Cgroups::cgroup_of(spawned->pid, c.mount()), path);
  EXPECT_EQ(Cgroups::kill_all(path), 0);
  siginfo_t info{};
  ASSERT_EQ(waitid(kIdPidfd, static_cast<id_t>(spawned->pidfd), &info, WEXITED), 0);
  close(spawned->pidfd);
  EXPECT_EQ(info.si_code, CLD_KILLED);
  EXPECT_EQ(info.si_status, SIGKILL);
  EXPECT_FALSE(Cgroups::populated(path));
  Cgroups::remove(path);
  EXPECT_FALSE(std::filesystem::exists(path));
  c.remove_base();
  EXPECT_FALSE(std::filesystem::exists(c.base()));
}

// Where clone3 cannot start a child in its cgroup (an older kernel, a seccomp filter), the
// child moves itself there with a write to cgroup.procs before it does anything else.
TEST(Cgroups, WithoutClone3TheChildJoinsItsCgroupItself) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make cgroups";
  const Cgroups c = Cgroups::set_up(false);
  if (!c.usable()) GTEST_SKIP() << c.description();
  SpawnRequest req;
  ASSERT_NO_FATAL_FAILURE(prepare_request(c, "moved", {"/bin/sleep", "60"}, req));
  const std::string& path = req.cgroup;
  spawn_detail::set_clone3_refused(ENOSYS);
  auto spawned = spawn_process(req);
  spawn_detail::set_clone3_refused(0);
  close(req.cgroup_fd);
  ASSERT_TRUE(spawned) << spawned.error().message();
  EXPECT_FALSE(spawned->born_in_cgroup);
  EXPECT_EQ(spawned->clone3_error, ENOSYS);
  EXPECT_EQ(Cgroups::cgroup_of(spawned->pid, c.mount()), path);
  EXPECT_EQ(Cgroups::processes(path, 16), std::vector<pid_t>{spawned->pid});
  EXPECT_EQ(Cgroups::kill_all(path), 0);
  siginfo_t info{};
  ASSERT_EQ(waitid(kIdPidfd, static_cast<id_t>(spawned->pidfd), &info, WEXITED), 0);
  close(spawned->pidfd);
  Cgroups::remove(path);
  c.remove_base();
}

TEST(Cgroups, JoiningARemovedCgroupFailsTheSpawnNamingTheStep) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make cgroups";
  const Cgroups c = Cgroups::set_up(false);
  if (!c.usable()) GTEST_SKIP() << c.description();
  SpawnRequest req;
  ASSERT_NO_FATAL_FAILURE(prepare_request(c, "gone", {"/bin/true"}, req));
  const std::string& path = req.cgroup;
  Cgroups::remove(path);
  const auto spawned = spawn_process(req);
  close(req.cgroup_fd);
  ASSERT_FALSE(spawned);
  EXPECT_EQ(spawned.error().step, "join cgroup " + path);
  c.remove_base();
}

}  // namespace
}  // namespace duende::supervisor
