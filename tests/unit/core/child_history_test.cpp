// What a child's history shows (StateChangedAt, ExitedAt, LastExitCode, LockLosses, the
// cause kept in a start-limit failure), and that it survives a supervisor restart.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/saved_state.hpp"
#include "supervisor_rig.hpp"

namespace duende::supervisor {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::FakeSystem;
using test::SupervisorRig;

constexpr const char* kOne = R"({"monitor_interval_sec": 0.5, "children": {"svc": {
    "exec": ["/bin/svc"], "ready": "exec", "restart": "on-failure", "restart_sec": 1,
    "start_limit_burst": 10, "mlock": {"required": false}}}})";

std::int64_t wall_us(FakeSystem& fake) {
  return std::chrono::duration_cast<std::chrono::microseconds>(fake.wall_now().time_since_epoch())
      .count();
}

TEST(ChildHistory, StateChangedAtFollowsEveryStateAndExitedAtTheExit) {
  SupervisorRig rig(kOne);
  const std::int64_t configured = wall_us(rig.fake);
  EXPECT_EQ(rig.child("svc").state_changed_at_us(), configured);  // stopped, as configured
  EXPECT_EQ(rig.child("svc").exited_at_us(), 0);
  EXPECT_EQ(rig.child("svc").last_exit_code(), "");
  rig.fake.advance(seconds(2));
  rig.sup().start();
  EXPECT_EQ(rig.state("svc"), ChildState::Running);
  const std::int64_t running = wall_us(rig.fake);
  EXPECT_EQ(rig.child("svc").state_changed_at_us(), running);

  rig.fake.advance(seconds(3));
  const std::int64_t died = wall_us(rig.fake);
  rig.fake.exit(rig.fake.last_pid("svc"), 4);
  EXPECT_EQ(rig.state("svc"), ChildState::Backoff);
  EXPECT_EQ(rig.child("svc").exited_at_us(), died);
  EXPECT_EQ(rig.child("svc").state_changed_at_us(), died);
  EXPECT_EQ(rig.child("svc").last_exit_code(), kExitCodeExited);
  EXPECT_EQ(rig.child("svc").last_exit_status(), 4);

  rig.fake.advance(seconds(1));  // the backoff ends: running again, ExitedAt stays
  EXPECT_EQ(rig.state("svc"), ChildState::Running);
  EXPECT_EQ(rig.child("svc").state_changed_at_us(), died + 1'000'000);
  EXPECT_EQ(rig.child("svc").exited_at_us(), died);
}

TEST(ChildHistory, LastExitCodeSaysKilledOrDumped) {
  SupervisorRig rig(kOne);
  rig.sup().start();
  rig.fake.kill_by_signal(rig.fake.last_pid("svc"), SIGKILL);
  EXPECT_EQ(rig.child("svc").last_exit_code(), kExitCodeKilled);
  EXPECT_EQ(rig.child("svc").last_exit_status(), -SIGKILL);
  rig.fake.advance(seconds(1));
  ExitStatus core;
  core.killed = true;
  core.code = SIGSEGV;
  core.dumped = true;
  rig.fake.exit(rig.fake.last_pid("svc"), core);
  EXPECT_EQ(rig.child("svc").last_exit_code(), kExitCodeDumped);
  EXPECT_EQ(rig.child("svc").last_exit_status(), -SIGSEGV);
}

TEST(ChildHistory, ASpawnFailureIsAnExitWith127) {
  SupervisorRig rig(kOne);
  rig.fake.fail_next_spawn({"exec /bin/svc", ENOENT});
  rig.sup().start();
  EXPECT_EQ(rig.child("svc").last_exit_code(), kExitCodeExited);
  EXPECT_EQ(rig.child("svc").last_exit_status(), 127);
  EXPECT_EQ(rig.child("svc").last_failure(), "exec /bin/svc: No such file or directory");
}

TEST(ChildHistory, TheStartLimitFailureKeepsItsCause) {
  SupervisorRig rig(R"({"children": {"ghost": {
      "exec": ["/bin/ghost"], "ready": "exec", "restart_sec": 0.1, "restart_max_sec": 0.1,
      "start_limit_burst": 2, "mlock": {"required": false}}}})");
  rig.fake.fail_next_spawn({"exec /bin/ghost", ENOENT});
  rig.sup().start();
  rig.fake.fail_next_spawn({"exec /bin/ghost", ENOENT});
  ASSERT_TRUE(
      rig.fake.run_until([&] { return rig.state("ghost") == ChildState::Failed; }, seconds(10)));
  EXPECT_EQ(rig.child("ghost").last_failure(),
            "start limit hit: more than 2 starts in 60 s; last: exec /bin/ghost: No such file or "
            "directory");
  EXPECT_EQ(rig.log.containing("ghost: start limit hit"),
            (std::vector<std::string>{
                "ghost: start limit hit: more than 2 starts in 60 s; not restarting until asked; "
                "last failure: exec /bin/ghost: No such file or directory"}));
  rig.fake.advance(SystemdNotifier::kStatusInterval);
  EXPECT_EQ(rig.fake.service_messages_starting("STATUS=").back(),
            "STATUS=degraded: ghost failed: start limit hit: more than 2 starts in 60 s; last: "
            "exec /bin/ghost: No such file or directory");
}

TEST(ChildHistory, ACrashLoopInBackoffIsTrouble) {
  SupervisorRig rig(kOne);
  rig.sup().start();
  rig.round();
  EXPECT_EQ(rig.sup().state(), ManagerState::Running);
  rig.fake.exit(rig.fake.last_pid("svc"), 4);
  rig.round();
  EXPECT_EQ(rig.state("svc"), ChildState::Backoff);
  EXPECT_TRUE(rig.child("svc").in_trouble());
  EXPECT_EQ(rig.sup().state(), ManagerState::Degraded);
  EXPECT_EQ(rig.sup().status_line(), "degraded: svc restarting after: exited with status 4");
  rig.fake.advance(seconds(1));  // restarted and running: no longer trouble
  EXPECT_EQ(rig.state("svc"), ChildState::Running);
  EXPECT_EQ(rig.sup().state(), ManagerState::Running);
}

constexpr const char* kPinned = R"({"monitor_interval_sec": 0.5, "children": {"pinned": {
    "exec": ["/bin/pinned"], "ready": "locked", "on_lock_lost": "restart"}}})";
constexpr const char* kLockedReport = "X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=4096\n";

// What an observer (the D-Bus adaptor) reads at each child_changed(): it publishes those
// values, so a count bumped after the call would stay unpublished until something else moved.
struct LockLossesSeen : SupervisorObserver {
  std::vector<unsigned> changed;
  unsigned at_lock_lost = 0;
  void child_added(const Child&) override {}
  void child_removed(const std::string&) override {}
  void child_changed(const Child& c) override { changed.push_back(c.lock_losses()); }
  void lock_lost(const Child& c) override { at_lock_lost = c.lock_losses(); }
  void swap_backend_lost(const Child&) override {}
  void manager_changed() override {}
};

TEST(ChildHistory, ALostLockIsCountedBeforeObserversAreToldOfTheChange) {
  SupervisorRig rig(R"({"monitor_interval_sec": 0.5, "children": {"pinned": {
    "exec": ["/bin/pinned"], "ready": "locked", "on_lock_lost": "warn"}}})");
  LockLossesSeen seen;
  rig.sup().set_observer(&seen);
  rig.fake.set_new_process_memory({.locked_bytes = 4096});
  rig.sup().start();
  rig.send("pinned", "X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=4096\n");
  ASSERT_EQ(rig.state("pinned"), ChildState::Running);
  seen.changed.clear();
  rig.fake.set_locked_bytes(rig.fake.last_pid("pinned"), 0);
  rig.fake.advance(milliseconds(500));
  ASSERT_EQ(rig.child("pinned").lock_losses(), 1u);
  // The last change told is what the bus holds now.
  ASSERT_FALSE(seen.changed.empty());
  EXPECT_EQ(seen.changed.back(), 1u);
  EXPECT_EQ(seen.at_lock_lost, 1u);
  // Locked again: no second count, and the change still shows the one.
  rig.fake.set_locked_bytes(rig.fake.last_pid("pinned"), 4096);
  rig.fake.advance(milliseconds(500));
  EXPECT_EQ(seen.changed.back(), 1u);
  EXPECT_EQ(rig.child("pinned").lock_losses(), 1u);
}

TEST(ChildHistory, LockLossesCountAcrossRestartsAndSurviveASupervisorRestart) {
  std::map<std::string, std::string> files;
  {
    SupervisorRig rig(kPinned);
    rig.fake.set_new_process_memory({.locked_bytes = 4096});
    rig.sup().start();
    rig.send("pinned", kLockedReport);
    EXPECT_EQ(rig.child("pinned").lock_losses(), 0u);
    for (unsigned n = 1; n <= 2; ++n) {
      rig.fake.set_locked_bytes(rig.fake.last_pid("pinned"), 0);
      rig.fake.advance(milliseconds(500));  // lost: restarted
      EXPECT_EQ(rig.child("pinned").lock_losses(), n);
      rig.send("pinned", kLockedReport);
      ASSERT_EQ(rig.state("pinned"), ChildState::Running);
    }
    rig.fake.advance(milliseconds(500));  // still locked: nothing more counted
    EXPECT_EQ(rig.child("pinned").lock_losses(), 2u);
    rig.round();
    files = rig.fake.state_files();
  }
  std::vector<std::string> warnings;
  SavedState saved = assemble_saved_state(files, warnings);
  ASSERT_EQ(saved.children.size(), 1u);
  EXPECT_EQ(saved.children[0].lock_losses, 2u);
  EXPECT_EQ(saved.children[0].last_exit_code, kExitCodeKilled);  // SIGTERM of the restart
  EXPECT_GT(saved.children[0].exited_at_us, 0);
  EXPECT_GT(saved.children[0].state_changed_at_us, 0);
  SupervisorRig second(kPinned);
  second.fake.set_own_pid(2);
  second.fake.set_new_process_memory({.locked_bytes = 4096});
  // The pids of the first machine, up to the child's, run here too: its process is alive.
  while (second.fake.add_running_process(FakeSystem::start_time_of(saved.children[0].pid)) <
         saved.children[0].pid) {
  }
  second.fake.advance(seconds(30));  // the state is older than this supervisor
  second.sup().start(saved);
  second.round();
  EXPECT_TRUE(second.child("pinned").adopted());
  EXPECT_EQ(second.child("pinned").lock_losses(), 2u);
  EXPECT_EQ(second.child("pinned").last_exit_code(), kExitCodeKilled);
  EXPECT_EQ(second.child("pinned").exited_at_us(), saved.children[0].exited_at_us);
  EXPECT_EQ(second.child("pinned").state_changed_at_us(), saved.children[0].state_changed_at_us);
}

TEST(SavedChildHistory, RoundTripsAndAnOlderRecordReadsAsNone) {
  SavedChild c;
  c.name = "x";
  c.last_exit_code = kExitCodeDumped;
  c.state_changed_at_us = 1'800'000'000'000'001;
  c.exited_at_us = 1'800'000'000'000'002;
  c.lock_losses = 7;
  const auto back = parse_saved_child(to_json(c));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, c);

  SavedChild y;
  y.name = "y";
  std::string old = to_json(y);
  for (const char* key : {"last_exit_code", "state_changed_at_us", "exited_at_us", "lock_losses"}) {
    const auto at = old.find(std::string("\"") + key + "\"");
    ASSERT_NE(at, std::string::npos) << key;
    old.erase(at, old.find('\n', at) + 1 - at);
  }
  const auto older = parse_saved_child(old);
  ASSERT_TRUE(older) << older.error() << "\n" << old;
  EXPECT_EQ(older->last_exit_code, "");
  EXPECT_EQ(older->lock_losses, 0u);
  EXPECT_EQ(older->exited_at_us, 0);
}

}  // namespace
}  // namespace duende::supervisor
