// What the full checks add to a child's figures, against the fake OS seam: one smaps walk
// per process per full check, shared memory in swap, the first unlocked mapping named,
// the memlock headroom of a child without CAP_IPC_LOCK, the IO_FLUSHER flags of its
// threads (trouble when asked for, acted on per on_lock_lost), OOM kills.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include "supervisor_rig.hpp"

namespace duende::supervisor {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::SupervisorRig;

constexpr const char* kLockedReport = "X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=4096\n";

// One child "pinned", ready once locked, checked every 0.5 s, fully every second.
std::string config(const std::string& child_fields) {
  return R"({"monitor_interval_sec": 0.5, "full_check_interval_sec": 1, "children": {"pinned": {
      "exec": ["/bin/pinned"], "ready": "locked")" +
         child_fields + "}}}";
}

void start_locked(SupervisorRig& rig) {
  rig.fake.set_new_process_memory({.locked_bytes = 4096});
  rig.sup().start();
  rig.send("pinned", kLockedReport);
  ASSERT_EQ(rig.state("pinned"), ChildState::Running);
}

TEST(ChildFigures, AFullCheckWalksSmapsOncePerProcess) {
  SupervisorRig rig(config(""));
  start_locked(rig);
  rig.fake.advance(seconds(1));  // settle onto the tick grid
  const unsigned walks = rig.fake.coverage_calls(), reads = rig.fake.inspect_calls();
  rig.fake.advance(seconds(3));  // 6 ticks, 3 of them full checks
  EXPECT_EQ(rig.fake.coverage_calls() - walks, 3u);
  EXPECT_EQ(rig.fake.inspect_calls() - reads, 6u) << "one status read per tick";
  EXPECT_EQ(rig.fake.io_flusher_calls() > 0, true);
}

TEST(ChildFigures, SharedMemoryInSwapIsSwappedAndALostLock) {
  SupervisorRig rig(config(R"(, "on_lock_lost": "warn")"));
  start_locked(rig);
  const pid_t pid = rig.fake.last_pid("pinned");
  rig.fake.set_detail(pid, {.lockable_mappings = 10,
                            .swapped_bytes = 8192,
                            .swapped_shmem_bytes = 8192,
                            .first_unlocked_mapping = "",
                            .memlock_limit_bytes = {}});
  rig.fake.advance(seconds(1));
  const Child& c = rig.child("pinned");
  EXPECT_EQ(c.memory().swapped_bytes, 0u) << "VmSwap misses it";
  EXPECT_EQ(c.figures().swapped_shmem_bytes, 8192u);
  EXPECT_EQ(c.swapped_bytes(), 8192u);
  EXPECT_EQ(c.processes().at(0).swapped_bytes, 8192u);
  EXPECT_TRUE(c.lock_lost());
  EXPECT_EQ(rig.log.containing("lost its lock"),
            (std::vector<std::string>{"pinned: lost its lock: VmLck 4 KiB, VmSwap 0 KiB, "
                                      "shared memory in swap 8 KiB"}));
}

TEST(ChildFigures, APartialUnlockNamesTheFirstUnlockedMappingAndRestarts) {
  SupervisorRig rig(config(R"(, "on_lock_lost": "restart", "mlock": {"future": true})"));
  start_locked(rig);
  const pid_t pid = rig.fake.last_pid("pinned");
  rig.fake.set_detail(pid, {.lockable_mappings = 40,
                            .unlocked_mappings = 1,
                            .resident_unlocked_bytes = 64 << 20,
                            .first_unlocked_mapping = "7f0000000000-7f0004000000 rw-p",
                            .memlock_limit_bytes = {}});
  rig.fake.advance(seconds(1));
  EXPECT_EQ(rig.log.containing("lost its lock"),
            (std::vector<std::string>{
                "pinned: lost its lock: VmLck 4 KiB, VmSwap 0 KiB, 1 of 40 lockable mappings "
                "unlocked (first: 7f0000000000-7f0004000000 rw-p); restarting"}));
  EXPECT_EQ(rig.fake.signals_to(pid), (std::vector<int>{SIGTERM}));
  EXPECT_NE(rig.child("pinned").pid(), pid);
  EXPECT_EQ(rig.child("pinned").restarts(), 1u);
  EXPECT_EQ(rig.child("pinned").figures().resident_unlocked_bytes, 0u) << "a new process";
}

TEST(ChildFigures, ResidentUnlockedIsKeptBetweenFullChecks) {
  SupervisorRig rig(config(""));
  start_locked(rig);
  const pid_t pid = rig.fake.last_pid("pinned");
  rig.fake.set_detail(pid, {.lockable_mappings = 4,
                            .resident_unlocked_bytes = 12288,
                            .first_unlocked_mapping = "",
                            .memlock_limit_bytes = {}});
  rig.fake.advance(seconds(1));
  EXPECT_EQ(rig.child("pinned").figures().resident_unlocked_bytes, 12288u);
  rig.fake.advance(milliseconds(500));  // a status-only tick
  EXPECT_EQ(rig.child("pinned").figures().resident_unlocked_bytes, 12288u);
}

// Root children hold CAP_IPC_LOCK; a non-root child that need not be locked does not:
// its headroom is the limit minus VmLck, and a low one is warned once per crossing.
TEST(ChildFigures, MemlockHeadroomOfAChildWithoutCapIpcLock) {
  SupervisorRig root(config(""));
  start_locked(root);
  root.fake.advance(seconds(1));
  EXPECT_EQ(root.child("pinned").memlock_headroom_bytes(), Child::kNoMemlockLimit);

  SupervisorRig rig(config(R"(, "user": 65534, "group": 65534, "mlock": {"required": false})"));
  start_locked(rig);
  const pid_t pid = rig.fake.last_pid("pinned");
  const std::uint64_t limit = 8 << 20;
  rig.fake.set_detail(
      pid, {.lockable_mappings = 4, .first_unlocked_mapping = "", .memlock_limit_bytes = limit});
  rig.fake.advance(seconds(1));
  EXPECT_EQ(rig.child("pinned").memlock_headroom_bytes(), limit - 4096);
  EXPECT_TRUE(rig.log.containing("memlock headroom low").empty());

  rig.fake.set_locked_bytes(pid, limit - 512 * 1024);
  rig.fake.advance(milliseconds(500));
  EXPECT_EQ(rig.child("pinned").memlock_headroom_bytes(), 512u * 1024);
  EXPECT_EQ(rig.log.containing("memlock headroom low"),
            (std::vector<std::string>{
                "pinned: memlock headroom low: 512 KiB left of RLIMIT_MEMLOCK 8192 KiB (VmLck of "
                "pid " +
                std::to_string(pid) +
                " 7680 KiB); MCL_FUTURE makes later allocations fail at the limit"}));
  rig.fake.advance(seconds(5));
  EXPECT_EQ(rig.log.containing("memlock headroom low").size(), 1u) << "once per crossing";

  rig.fake.set_detail(pid, {.lockable_mappings = 4,
                            .first_unlocked_mapping = "",
                            .memlock_limit_bytes = {}});  // unlimited
  rig.fake.advance(seconds(1));
  EXPECT_EQ(rig.child("pinned").memlock_headroom_bytes(), Child::kNoMemlockLimit);
}

TEST(ChildFigures, IoFlusherOfEveryThreadIsReadAndNotTroubleUnlessAskedFor) {
  SupervisorRig rig(config(""));
  rig.fake.set_new_process_io_flusher(true, 3);
  start_locked(rig);
  EXPECT_EQ(rig.child("pinned").io_flusher(), true) << "read at its first refresh";
  EXPECT_EQ(rig.child("pinned").figures().threads, 3u);
  const pid_t pid = rig.fake.last_pid("pinned");
  rig.fake.set_io_flusher(pid, {.threads = 2,
                                .io_flusher_threads = 1,
                                .first_other_tid = 4321,
                                .first_other_comm = "worker"});
  rig.fake.advance(seconds(1));
  EXPECT_EQ(rig.child("pinned").io_flusher(), false);
  EXPECT_FALSE(rig.child("pinned").in_trouble()) << "its mlock does not ask io_flusher";
}

TEST(ChildFigures, AThreadWithoutIoFlusherIsTroubleWhenAskedForAndNamed) {
  for (const bool restart : {false, true}) {
    SCOPED_TRACE(restart ? "restart" : "warn");
    SupervisorRig rig(config(std::string(R"(, "mlock": {"io_flusher": true, "required": false},
        "on_lock_lost": ")") +
                             (restart ? "restart" : "warn") + "\""));
    rig.fake.set_new_process_io_flusher(true);
    start_locked(rig);
    EXPECT_FALSE(rig.child("pinned").in_trouble());
    const pid_t pid = rig.fake.last_pid("pinned");
    rig.fake.set_io_flusher(pid, {.threads = 2,
                                  .io_flusher_threads = 1,
                                  .first_other_tid = 4321,
                                  .first_other_comm = "worker"});
    rig.fake.advance(seconds(1));
    EXPECT_EQ(
        rig.log.containing("lacks IO_FLUSHER"),
        (std::vector<std::string>{
            "pinned: lacks IO_FLUSHER (PF_MEMALLOC_NOIO|PF_LOCAL_THROTTLE; "
            "PR_SET_IO_FLUSHER needs CAP_SYS_RESOURCE): 1 of 2 threads without it, first "
            "pid " +
            std::to_string(pid) + " thread 4321 (worker)" + (restart ? "; restarting" : "")}));
    if (restart) {
      EXPECT_EQ(rig.child("pinned").restarts(), 1u);
      EXPECT_NE(rig.child("pinned").pid(), pid);
      EXPECT_FALSE(rig.child("pinned").io_flusher_lost());
      continue;
    }
    EXPECT_TRUE(rig.child("pinned").in_trouble());
    EXPECT_EQ(rig.sup().state(), ManagerState::Degraded);
    EXPECT_EQ(rig.fake.service_messages_starting("STATUS=").back(),
              "STATUS=degraded: pinned lacks IO_FLUSHER");
    rig.fake.set_io_flusher(
        pid, {.threads = 2, .io_flusher_threads = 2, .first_other_tid = 0, .first_other_comm = ""});
    rig.fake.advance(seconds(1));
    EXPECT_FALSE(rig.child("pinned").in_trouble());
    EXPECT_EQ(rig.log.containing("every thread carries IO_FLUSHER again").size(), 1u);
  }
}

// A required io_flusher that the kernel refused: the failed report says only EPERM; the
// reason names the prctl.
TEST(ChildFigures, ARefusedRequiredIoFlusherIsNamedAsTheStartFailure) {
  SupervisorRig rig(config(R"(, "mlock": {"io_flusher": true}, "restart": "no")"));
  rig.sup().start();
  rig.send("pinned", "X_DUENDE_MLOCK=failed\nX_DUENDE_MLOCK_ERRNO=1\n");
  EXPECT_EQ(rig.child("pinned").last_failure(),
            "lock: PR_SET_IO_FLUSHER: Operation not permitted (it needs CAP_SYS_RESOURCE)");
}

TEST(ChildFigures, OomKillsAreCountedAndWarned) {
  SupervisorRig rig(config(""));
  start_locked(rig);
  const pid_t pid = rig.fake.last_pid("pinned");
  EXPECT_EQ(rig.child("pinned").oom_kills(), 0u);
  rig.fake.set_oom_kills(pid, 2);
  rig.fake.advance(milliseconds(500));
  EXPECT_EQ(rig.child("pinned").oom_kills(), 2u);
  EXPECT_EQ(rig.log.containing("OOM killer"),
            (std::vector<std::string>{
                "pinned: the OOM killer ended 2 processes of its cgroup (2 in all)"}));
  rig.fake.advance(seconds(2));
  EXPECT_EQ(rig.log.containing("OOM killer").size(), 1u);
}

}  // namespace
}  // namespace duende::supervisor
