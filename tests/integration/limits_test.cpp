// Limits the daemon must live with instead of dying of: the file descriptor limit (a
// configuration that would not fit is refused at start and at reload, the running set
// untouched), thousands of children started and stopped without the stack growing, and a
// hostile drop-in on reload (nesting, size) refused without the daemon dying or keeping
// the parse's memory locked.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <string>
#include <vector>

#include "privilege.hpp"
#include "proc_peek.hpp"
#include "supervisor_harness.hpp"

namespace duende::itest {
namespace {

using duende::test::status_field;
using duende::test::vm_lck;

Json sleeper() {
  Json c;
  c["exec"] = {"/bin/sleep", "100000"};
  c["ready"] = "exec";
  c["preload"] = false;
  c["mlock"] = {{"required", false}};
  c["restart"] = "no";
  return c;
}

Json sleepers(int n, int from = 0) {
  Json children = Json::object();
  for (int i = from; i < from + n; ++i) children["s" + std::to_string(i)] = sleeper();
  return children;
}

// This test process's (and so the daemon's) RLIMIT_NOFILE, soft and hard: each ctest runs
// in its own process, so lowering it here touches no other test.
bool limit_fds(rlim_t n) {
  const rlimit limit{n, n};
  return ::setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

// Running children, from the log: "NAME: started, pid N" lines, each a distinct pid.
std::vector<pid_t> all_pids(const Harness& h, int n) {
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    const auto p = h.child_pids("s" + std::to_string(i));
    pids.push_back(p.empty() ? 0 : p.back());
  }
  return pids;
}

TEST(SupervisorLimits, AThousandChildrenStartUnderTheirFdBudgetAndAReloadOverItIsRefused) {
  ASSERT_TRUE(limit_fds(1100));  // room for 1000 children (1 each + 64), not for 1100
  Harness h;
  h.config["children"] = sleepers(1000);
  h.start();
  ASSERT_TRUE(h.wait_for_notification("READY=1") >= 0) << "1000 children did not all start";
  EXPECT_EQ(h.count(": started, pid "), 1000);
  EXPECT_EQ(h.count("Too many open files"), 0);
  const std::vector<pid_t> pids = all_pids(h, 1000);

  h.config["children"] = sleepers(1100);
  h.write_config();
  h.send_signal(SIGHUP);
  ASSERT_TRUE(h.wait_for_log("reload failed"));
  EXPECT_EQ(h.count("reload: the configuration needs 1164 file descriptors (1100 children, 1 "
                    "each, and 64 for the supervisor), but the limit is 1100"),
            1);
  EXPECT_TRUE(h.wait_for_status("reload failed: too many children"));
  EXPECT_EQ(h.count(": started, pid "), 1000) << "a child of the refused configuration started";
  EXPECT_EQ(all_pids(h, 1000), pids);
  for (pid_t pid : pids) ASSERT_TRUE(process_alive(pid)) << pid;
  EXPECT_EQ(h.stop(), 0);
}

TEST(SupervisorLimits, AStartOverTheFdBudgetExits78NamingTheNumbers) {
  ASSERT_TRUE(limit_fds(200));
  Harness h;
  h.config["children"] = sleepers(150);
  h.start();
  EXPECT_EQ(h.wait_exit(), 78);
  EXPECT_EQ(h.count("invalid configuration: the configuration needs 214 file descriptors (150 "
                    "children, 1 each, and 64 for the supervisor), but the limit is 200"),
            1);
  EXPECT_EQ(h.count(": started, pid "), 0);
}

TEST(SupervisorLimits, FiveThousandExecChildrenStartAndStopWithoutGrowingTheStack) {
  // The same daemon binary with 10 children, then with 5,000, in this test: the stack it
  // ends up with must be the same (cascades are loops, not recursion).
  const auto stack_with = [](int n) {
    Harness h;
    h.config["children"] = sleepers(n);
    // 5,000 spawns (and their cgroups) take seconds, many more under ASan on a loaded
    // machine: the deadlines grow with the number of children (20 ms each).
    const auto deadline = kDeadline + std::chrono::milliseconds(20) * n;
    h.start();
    EXPECT_TRUE(h.wait_until([&] { return h.find_notification("READY=1") >= 0; }, deadline))
        << n << " children";
    EXPECT_EQ(h.count(": started, pid "), n);
    const std::uint64_t stack = status_field(h.pid(), "VmStk").value_or(0);
    h.send_signal(SIGTERM);
    EXPECT_EQ(h.wait_exit(deadline), 0) << n << " children";
    EXPECT_EQ(h.count("all children stopped"), 1);
    return stack;
  };
  const std::uint64_t few = stack_with(10), many = stack_with(5000);
  std::printf("VmStk: %llu KiB with 10 children, %llu KiB with 5000\n",
              static_cast<unsigned long long>(few / 1024),
              static_cast<unsigned long long>(many / 1024));
  ASSERT_GT(few, 0u);
  EXPECT_LE(many, few + 16 * 1024) << "the stack grew with the number of children";
}

TEST(SupervisorReloadBounds, AHostileDropInIsRefusedWithoutDyingOrKeepingMemoryLocked) {
  Harness h;
  h.config["children"]["keep"] = sleeper();
  h.start();
  ASSERT_GE(h.wait_for_notification("READY=1"), 0);
  const pid_t keep = h.child_pids("keep").at(0);
  const std::uint64_t locked_before = vm_lck(h.pid());

  // 90,000 nested arrays (once: a stack overflow in the merge), then 2 MiB.
  h.write_file(h.dropin_dir() + "/50-deep.json",
               "{\"x\": " + std::string(90000, '[') + std::string(90000, ']') + "}");
  h.send_signal(SIGHUP);
  ASSERT_TRUE(h.wait_for_log("reload failed", 1));
  EXPECT_EQ(h.count("50-deep.json: /x/0/0/0"), 1) << h.log_text();
  EXPECT_EQ(h.count("nested deeper than 32 levels"), 1);
  h.write_file(h.dropin_dir() + "/50-deep.json",
               "{\"pad\": \"" + std::string(2 << 20, 'x') + "\"}");
  h.send_signal(SIGHUP);
  ASSERT_TRUE(h.wait_for_log("reload failed", 2));
  EXPECT_EQ(h.count("50-deep.json: too large: 2097163 bytes"), 1);
  const std::uint64_t locked_after = vm_lck(h.pid());

  EXPECT_TRUE(process_alive(h.pid()));
  EXPECT_EQ(h.child_pids("keep"), std::vector<pid_t>{keep});
  std::printf("VmLck %llu KiB before, %llu KiB after two refused reloads\n",
              static_cast<unsigned long long>(locked_before / 1024),
              static_cast<unsigned long long>(locked_after / 1024));
  // Refused before a document was built: the locked heap did not grow (one page of slack).
  if (locked_before > 0) {
    EXPECT_LE(locked_after, locked_before + 64 * 1024);
  }

  // An accepted reload of a large file (a child with ~900 KiB of environment): what stays
  // locked is what the new configuration holds, plus a bounded high-water mark of the
  // parse, not a multiple of the file that grows with every reload.
  Json big = sleeper();
  for (int i = 0; i < 9000; ++i)
    big["environment"]["VAR" + std::to_string(i)] = std::string(80, 'v');
  Json dropin;
  dropin["children"]["big"] = big;
  h.write_file(h.dropin_dir() + "/50-deep.json", dropin.dump());
  for (int round = 1; round <= 3; ++round) {
    h.send_signal(SIGHUP);
    ASSERT_TRUE(h.wait_for_log("reloading configuration", 2 + round));
    ASSERT_TRUE(h.wait_until([&] {
      return h.count("reload failed") == 2 && (round > 1 || h.count("big: started") == 1);
    }));
    ASSERT_TRUE(h.wait_until([&] { return h.count("reloading configuration") == 2 + round; }));
  }
  const std::uint64_t locked_accepted = vm_lck(h.pid());
  std::printf("VmLck %llu KiB after three accepted reloads of a %zu KiB drop-in\n",
              static_cast<unsigned long long>(locked_accepted / 1024), dropin.dump().size() / 1024);
  if (locked_before > 0) {
    EXPECT_LE(locked_accepted, locked_before + 16 * (1 << 20)) << "more than 16 MiB stayed locked";
  }
  EXPECT_EQ(h.stop(), 0);
}

}  // namespace
}  // namespace duende::itest
