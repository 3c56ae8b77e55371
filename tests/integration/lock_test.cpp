// Locks as the kernel sees them: what the daemon reports about a child equals /proc, a
// lost lock is noticed, a non-root child locks through ambient CAP_IPC_LOCK, a child
// without any privilege fails with the lock error, and the daemon itself is locked and
// single-threaded.
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "api/human_size.hpp"
#include "privilege.hpp"
#include "proc_peek.hpp"
#include "supervisor_harness.hpp"

namespace duende::itest {
namespace {

constexpr uid_t kNobody = 65534;

// A hexadecimal capability set of /proc/PID/status ("CapAmb"), 0 when unreadable.
std::uint64_t capability_set(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0)
      return std::stoull(line.substr(field.size() + 1), nullptr, 16);
  return 0;
}

// The real uid of `pid` ("Uid:" line, first field), -1 when unreadable.
long real_uid(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Uid:", 0) == 0) return std::stol(line.substr(4));
  return -1;
}

// "SOFT HARD" of the "Max locked memory" line of /proc/PID/limits.
std::string memlock_limits(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Max locked memory", 0) != 0) continue;
    std::istringstream fields(line.substr(17));
    std::string soft, hard;
    fields >> soft >> hard;
    return soft + " " + hard;
  }
  return "";
}

// The KiB figure of the first "NAME: ready, locked (N KiB)" line; -1 when none.
long reported_kib(const Harness& h, const std::string& name) {
  for (const auto& line : h.daemon_lines())
    if (const auto kib = number_after(line, name + ": ready, locked ("))
      return static_cast<long>(*kib);
  return -1;
}

TEST(SupervisorLock, ReportedLockStateEqualsProc) {
  DUENDE_SKIP_IF_SANITIZED("ASan makes mlockall() a no-op: nothing would be locked");
  Harness h;
  h.config["children"]["worker"] = test_child({"--touch-mib", "2", "--lock"});
  h.start();
  const pid_t pid = h.wait_child_pid("worker");
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(h.wait_for_log("worker: ready, locked ("));

  // What the child reported when it locked: VmLck at that moment, which MCL_FUTURE can
  // only grow, and the kernel agrees that it is locked, mapping by mapping.
  const long kib = reported_kib(h, "worker");
  EXPECT_GT(kib, 2 * 1024);  // the 2 MiB it touched, and more
  EXPECT_GT(test::vm_lck(pid), 0u);
  EXPECT_LE(static_cast<std::uint64_t>(kib) * 1024, test::vm_lck(pid));
  EXPECT_GT(test::smaps_flag_count(pid, "lo"), 0);

  // What the daemon says from its own /proc reading equals what the test reads there.
  std::string expected;
  EXPECT_TRUE(h.wait_until([&] {
    expected =
        "1/1 children locked, 1 running, " + supervisor::human_size(test::vm_lck(pid)) + " pinned";
    return h.last_status() == expected;
  })) << "last STATUS \""
      << h.last_status() << "\", expected \"" << expected << "\"";
  EXPECT_EQ(h.count("lost its lock"), 0);
}

TEST(SupervisorLock, PreloadShimLocksAnUnmodifiedProgram) {
  DUENDE_SKIP_IF_SANITIZED("the shim cannot load into a program without the ASan runtime");
  Harness h;
  Json c = test_child({});
  c["exec"] = {"/bin/sleep", "1000"};
  c["preload"] = true;
  h.config["children"]["sleeper"] = c;
  h.start();
  const pid_t pid = h.wait_child_pid("sleeper");
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(h.wait_for_log("sleeper: ready, locked ("));
  EXPECT_GT(reported_kib(h, "sleeper"), 0);
  EXPECT_GT(test::vm_lck(pid), 0u);
  EXPECT_TRUE(h.wait_for_status("1/1 children locked, 1 running"));
}

// "sh -c 'exec server'": the shell locks and reports, then execve() drops the lock until
// the server's own shim locks again (same pid), so the report is often read while VmLck
// is 0. Readiness must follow /proc and the server's own report, not stick at that gap.
TEST(SupervisorLock, ExecWrapperUnderTheShimBecomesReadyLocked) {
  DUENDE_SKIP_IF_SANITIZED("the shim cannot load into a program without the ASan runtime");
  Harness h;
  Json c = test_child({});
  c["exec"] = {"/bin/sh", "-c", "exec /bin/sleep 1000"};
  c["preload"] = true;
  c["start_timeout_sec"] = 600;  // a stuck readiness must show as a failed wait, not a retry
  h.config["children"]["wrapped"] = c;
  h.start();
  const pid_t pid = h.wait_child_pid("wrapped");
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(h.wait_for_log("wrapped: ready, locked ("));
  EXPECT_GT(test::vm_lck(pid), 0u);
  EXPECT_EQ(h.child_pids("wrapped").size(), 1u);
}

TEST(SupervisorLock, LostLockIsLoggedAndShownInStatus) {
  DUENDE_SKIP_IF_SANITIZED("ASan makes mlockall() a no-op: nothing would be locked");
  Harness h;
  const std::string gate = h.path("unlock");
  Json c = test_child({"--lock", "--unlock-when", gate});
  c["on_lock_lost"] = "warn";
  h.config["children"]["fragile"] = c;
  h.start();
  const pid_t pid = h.wait_child_pid("fragile");
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(h.wait_for_log("fragile: ready, locked ("));
  ASSERT_TRUE(h.wait_for_status("1/1 children locked"));

  h.write_file(gate, std::to_string(pid));
  ASSERT_TRUE(h.wait_for_log("fragile: lost its lock: VmLck 0 KiB"));
  EXPECT_EQ(test::vm_lck(pid), 0u);
  EXPECT_TRUE(h.wait_for_status("degraded: fragile lost its lock"));
  // "warn" keeps it running: same process, no restart.
  EXPECT_TRUE(process_alive(pid));
  EXPECT_EQ(h.child_pids("fragile").size(), 1u);
  EXPECT_EQ(h.count("fragile: lost its lock: VmLck 0 KiB, VmSwap 0 KiB; restarting"), 0);
}

TEST(SupervisorLock, LostLockRestartsTheChildWhenAskedTo) {
  DUENDE_SKIP_IF_SANITIZED("ASan makes mlockall() a no-op: nothing would be locked");
  Harness h;
  const std::string gate = h.path("unlock");
  Json c = test_child({"--lock", "--unlock-when", gate});
  c["on_lock_lost"] = "restart";
  h.config["children"]["fragile"] = c;
  h.start();
  const pid_t first = h.wait_child_pid("fragile");
  ASSERT_GT(first, 0);
  ASSERT_TRUE(h.wait_for_log("fragile: ready, locked ("));

  h.write_file(gate, std::to_string(first));  // opens for this process only
  ASSERT_TRUE(h.wait_for_log("fragile: lost its lock: VmLck 0 KiB, VmSwap 0 KiB; restarting"));
  const pid_t second = h.wait_child_pid("fragile", 2);
  ASSERT_GT(second, 0);
  EXPECT_NE(second, first);
  ASSERT_TRUE(h.wait_for_log("fragile: ready, locked (", 2));
  EXPECT_TRUE(h.wait_until([&] { return !process_alive(first); }));
  EXPECT_GT(test::vm_lck(second), 0u);
  EXPECT_TRUE(h.wait_for_status("1/1 children locked, 1 running"));
}

// munlock() of one region while VmLck stays above 0: those pages can go to swap next, the
// deadlock again. The smaps walk sees the unlocked mapping; it is a lost lock like VmLck 0.
TEST(SupervisorLock, APartialMunlockWhileVmLckStaysAboveZeroIsALostLock) {
  DUENDE_SKIP_IF_SANITIZED("ASan makes mlockall() a no-op: nothing would be locked");
  Harness h;
  const std::string gate = h.path("munlock");
  Json c = test_child({"--touch-mib", "16", "--lock", "--munlock-touched-when", gate});
  h.config["full_check_interval_sec"] = 0.2;
  h.config["children"]["partial"] = c;
  h.start();
  const pid_t pid = h.wait_child_pid("partial");
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(h.wait_for_log("partial: ready, locked ("));
  ASSERT_TRUE(h.wait_for_status("1/1 children locked, 1 running"));
  const std::uint64_t before = test::vm_lck(pid);
  EXPECT_EQ(h.count("partial: lost its lock"), 0) << "a fully locked child was flagged";

  h.write_file(gate, "");
  ASSERT_TRUE(h.wait_for_log("lockable mappings unlocked"));
  const std::uint64_t after = test::vm_lck(pid);
  EXPECT_GT(after, 0u) << "the child unlocked everything, not a part";
  EXPECT_LE(after + (16u << 20), before) << "VmLck " << before << " -> " << after;
  EXPECT_EQ(h.count("partial: lost its lock: VmLck "), 1);
  EXPECT_TRUE(h.wait_for_status("degraded: partial lost its lock"));
  EXPECT_TRUE(process_alive(pid)) << "on_lock_lost is warn: it keeps running";
}

// The same with on_lock_lost "restart": flagged within a full-check interval, the unlocked
// mapping named by its range, and a new process that is locked again (that Restarts counts
// it is the core's unit test, ChildFigures).
TEST(SupervisorLock, APartialMunlockRestartsTheChildWhenAskedToAndNamesTheMapping) {
  DUENDE_SKIP_IF_SANITIZED("ASan makes mlockall() a no-op: nothing would be locked");
  Harness h;
  const std::string gate = h.path("munlock");
  Json c = test_child({"--touch-mib", "16", "--lock", "--munlock-touched-when", gate});
  c["on_lock_lost"] = "restart";
  h.config["full_check_interval_sec"] = 0.2;
  h.config["children"]["partial"] = c;
  h.start();
  const pid_t first = h.wait_child_pid("partial");
  ASSERT_GT(first, 0);
  ASSERT_TRUE(h.wait_for_log("partial: ready, locked ("));

  h.write_file(gate, std::to_string(first));  // opens for this process only
  ASSERT_TRUE(h.wait_for_log("lockable mappings unlocked (first: "));
  const int index = h.line_index("partial: lost its lock");
  ASSERT_GE(index, 0);
  const std::string line = h.daemon_lines().at(static_cast<std::size_t>(index));
  EXPECT_NE(line.find("; restarting"), std::string::npos) << line;
  // "(first: START-END rw-p)": the 16 MiB region it munlock()ed, private and writable.
  const std::size_t at = line.find("(first: ") + 8;
  const std::size_t dash = line.find('-', at), space = line.find(' ', dash);
  ASSERT_NE(space, std::string::npos) << line;
  const std::uint64_t start = std::stoull(line.substr(at, dash - at), nullptr, 16);
  const std::uint64_t end = std::stoull(line.substr(dash + 1, space - dash - 1), nullptr, 16);
  EXPECT_EQ(end - start, std::uint64_t{16} << 20) << line;
  EXPECT_EQ(line.substr(space + 1, 5), "rw-p)") << line;

  const pid_t second = h.wait_child_pid("partial", 2);
  ASSERT_GT(second, 0);
  EXPECT_NE(second, first);
  ASSERT_TRUE(h.wait_for_log("partial: ready, locked (", 2));
  EXPECT_GT(test::vm_lck(second), 0u);
  EXPECT_TRUE(h.wait_for_status("1/1 children locked, 1 running"));
  EXPECT_EQ(h.count("partial: lost its lock"), 1) << "the new process is fully locked";
}

TEST(SupervisorLock, NonRootChildLocksThroughAmbientCapIpcLock) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: only root can start a child as another user";
  DUENDE_SKIP_IF_SANITIZED("ASan makes mlockall() a no-op: nothing would be locked");
  Harness h;
  // The child, running as nobody, writes its environment into a directory it may write.
  ASSERT_EQ(chmod(h.dir().c_str(), 0711), 0);
  const std::string shared = h.path("shared");
  ASSERT_EQ(mkdir(shared.c_str(), 0777), 0);
  ASSERT_EQ(chmod(shared.c_str(), 0777), 0);
  Json c = test_child({"--lock", "--print-env", shared + "/env"});
  c["user"] = "nobody";
  c["limit_memlock"] = 0;  // without CAP_IPC_LOCK, mlockall() would now fail with EPERM
  h.config["children"]["unprivileged"] = c;
  h.start();
  const pid_t pid = h.wait_child_pid("unprivileged");
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(h.wait_for_log("unprivileged: ready, locked ("));

  EXPECT_EQ(real_uid(pid), static_cast<long>(kNobody));
  EXPECT_GT(test::vm_lck(pid), 0u);
  const std::uint64_t ipc_lock = std::uint64_t{1} << CAP_IPC_LOCK;
  EXPECT_EQ(capability_set(pid, "CapAmb"), ipc_lock);  // that one, and nothing else
  EXPECT_EQ(capability_set(pid, "CapEff"), ipc_lock);
  EXPECT_EQ(memlock_limits(pid), "0 0");

  // The environment of a named user.
  ASSERT_TRUE(h.wait_until([&] { return std::ifstream(shared + "/env").good(); }));
  std::ifstream in(shared + "/env");
  const std::string env((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(env.find("USER=nobody\n"), std::string::npos) << env;
  EXPECT_NE(env.find("LOGNAME=nobody\n"), std::string::npos) << env;
  EXPECT_NE(env.find("HOME=/nonexistent\n"), std::string::npos) << env;
}

// The supervisor itself without CAP_IPC_LOCK (dropped from every set before exec), a child
// that runs with the supervisor's credentials and a memlock limit of 0: nothing can give it
// the right to lock. The shim's required lock fails; the daemon must say why.
TEST(SupervisorLock, ChildWithoutPrivilegeFailsWithTheLockError) {
  DUENDE_SKIP_IF_SANITIZED("the shim cannot load into a program without the ASan runtime");
  Harness h;
  h.config["self"]["mlock"]["required"] = false;  // it cannot lock 9 MiB without the cap
  Json c = test_child({});
  c["preload"] = true;
  c["limit_memlock"] = 0;
  c["restart"] = "no";
  h.config["children"]["doomed"] = c;
  Harness::Launch without_cap;
  without_cap.drop_ipc_lock = true;
  h.start(without_cap);
  const pid_t pid = h.wait_child_pid("doomed");
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(h.wait_for_log("doomed: failed to start: lock: Operation not permitted"));
  // The shim ends the program with EX_OSERR right after its report, unless the daemon's
  // SIGTERM (it ends a start that failed) comes first. Either way the child settles as
  // failed, with the lock error as its reason.
  EXPECT_TRUE(h.wait_until([&] {
    return h.count("doomed: ended (exited with status 71)") +
               h.count("doomed: ended (killed by signal TERM)") ==
           1;
  }));
  EXPECT_TRUE(h.wait_for_status("degraded: doomed failed: lock: Operation not permitted"));
  EXPECT_EQ(h.child_pids("doomed").size(), 1u);
  EXPECT_GE(h.wait_for_notification("READY=1"), 0);
}

// A non-root child that must lock needs the ambient capability, which only a supervisor
// holding CAP_IPC_LOCK can grant: without it the start fails, naming the step.
TEST(SupervisorLock, NonRootChildCannotGetACapabilityTheSupervisorLacks) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: only root can start a child as another user";
  Harness h;
  h.config["self"]["mlock"]["required"] = false;
  Json c = test_child({"--lock"});
  c["user"] = "nobody";
  c["restart"] = "no";
  h.config["children"]["nobody"] = c;
  Harness::Launch without_cap;
  without_cap.drop_ipc_lock = true;
  h.start(without_cap);
  ASSERT_TRUE(
      h.wait_for_log("nobody: failed to start: capset CAP_IPC_LOCK: Operation not permitted"));
  EXPECT_TRUE(h.wait_for_status("degraded: nobody failed: capset CAP_IPC_LOCK"));
  EXPECT_TRUE(h.child_pids("nobody").empty());
}

TEST(SupervisorSelf, IsLockedAndSingleThreadedWhileChildrenRun) {
  DUENDE_REQUIRE_LOCKING();
  Harness h;
  for (const char* name : {"one", "two", "three"}) {
    Json c = test_child({"--ready"});
    c["ready"] = "notify";
    c["mlock"] = {{"required", false}};
    h.config["children"][name] = c;
  }
  h.start();
  ASSERT_TRUE(h.wait_for_status("3 running"));
  ASSERT_TRUE(h.wait_for_log("supervisor locked: VmLck "));
  EXPECT_GT(test::vm_lck(h.pid()), 0u);
  EXPECT_EQ(test::status_field(h.pid(), "Threads"), 1u);
  EXPECT_EQ(test::status_field(h.pid(), "VmSwap"), 0u);

  // Still one thread after a reload and a child's restart.
  const pid_t one = h.child_pids("one").at(0);
  h.send_signal(SIGHUP);
  ASSERT_TRUE(h.wait_for_log("reloading configuration"));
  kill(one, SIGKILL);
  ASSERT_GT(h.wait_child_pid("one", 2), 0);
  ASSERT_TRUE(h.wait_for_log("one: ready", 2));
  EXPECT_EQ(test::status_field(h.pid(), "Threads"), 1u);
  EXPECT_GT(test::vm_lck(h.pid()), 0u);
}

}  // namespace
}  // namespace duende::itest
