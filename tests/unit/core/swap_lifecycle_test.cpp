// The swap a child backs: on only once it is ready and locked, off before every stop, a
// stop refused while swapoff fails (unless forced), a death with the swap on.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "swap_rig.hpp"

namespace duende::supervisor::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Strings = std::vector<std::string>;

TEST(SwapLifecycle, OnOnlyOnceReadyAndLocked) {
  SupervisorRig rig(swap_config(R"({"priority": 5})"));
  rig.sup().start();
  rig.send("backend", kReadyWithDevice);  // ready, not locked yet
  EXPECT_EQ(rig.state("backend"), ChildState::Running);
  EXPECT_TRUE(rig.fake.tools.runs().empty());

  rig.fake.set_locked_bytes(rig.fake.last_pid("backend"), 4096);
  rig.fake.advance(milliseconds(500));  // a monitor tick sees the lock
  EXPECT_EQ(rig.fake.tools.argvs(),
            (std::vector<Strings>{{"/sbin/swapon", "-p", "5", "/dev/loop7"}}));
  EXPECT_EQ(rig.child("backend").swap().state(), SwapState::On);
  EXPECT_EQ(rig.child("backend").swap().size_bytes(), 65536u * 1024);
  EXPECT_EQ(rig.child("backend").swap_device(), "/dev/loop7");
}

TEST(SwapLifecycle, NoSwapWhileTheLockIsInTrouble) {
  SupervisorRig rig(swap_config("{}"));
  rig.sup().start();
  const pid_t pid = rig.fake.last_pid("backend");
  rig.fake.set_memory(pid, {.locked_bytes = 4096, .swapped_bytes = 4096});
  rig.send("backend", std::string(kLockedReport) + kReadyWithDevice);
  rig.fake.advance(seconds(2));
  EXPECT_TRUE(rig.fake.tools.runs().empty());
}

TEST(SwapLifecycle, MkswapThenSwaponOnTheConfiguredDevice) {
  SupervisorRig rig(swap_config(R"({"device": "/dev/loop3", "mkswap": true})"));
  start_with_swap_on(rig, "READY=1\n");
  EXPECT_EQ(rig.fake.tools.argvs(),
            (std::vector<Strings>{{"/sbin/mkswap", "/dev/loop3"}, {"/sbin/swapon", "/dev/loop3"}}));
  EXPECT_EQ(rig.child("backend").swap().state(), SwapState::On);
}

TEST(SwapLifecycle, AFailedSwaponIsTroubleAndSaysWhy) {
  SupervisorRig rig(swap_config("{}"));
  rig.fake.tools.answer("/sbin/swapon", {255, "swapon: /dev/loop7: read swap header failed\n"});
  start_with_swap_on(rig);
  EXPECT_EQ(rig.child("backend").swap().state(), SwapState::Failed);
  EXPECT_EQ(rig.child("backend").swap().error(),
            "swapon: /dev/loop7: read swap header failed (exit status 255)");
  EXPECT_EQ(rig.sup().state(), ManagerState::Degraded);
}

// The words of util-linux's tools when a sandbox (the packaged unit without
// swap-backend.conf) is in the way get a hint; other failures do not.
TEST(SwapLifecycle, ASandboxFailureSaysWhichDropInIsMissing) {
  const std::string eperm =
      " (the supervisor needs CAP_SYS_ADMIN and the @swap system calls: under systemd, add "
      "examples/units/swap-backend.conf)";
  const std::string erofs =
      " (under systemd, ProtectSystem=strict: name the swap file's directory in "
      "ReadWritePaths=, see examples/units/swap-backend.conf)";
  const std::string hidden =
      " (under systemd, PrivateDevices=yes hides it: add examples/units/swap-backend.conf)";
  struct Case {
    std::string swap;  // the child's "swap"
    std::string tool;
    FakeTools::Answer answer;
    std::string error;  // SwapError
  };
  const Case cases[] = {
      {"{}",
       "/sbin/swapon",
       {255, "swapon: /dev/loop7: swapon failed: Operation not permitted\n"},
       "swapon: /dev/loop7: swapon failed: Operation not permitted (exit status 255)" + eperm},
      {R"({"device": "/var/lib/swap/swapfile", "mkswap": true})",
       "/sbin/mkswap",
       {1, "mkswap: cannot open /var/lib/swap/swapfile: Read-only file system\n"},
       "mkswap: cannot open /var/lib/swap/swapfile: Read-only file system (exit status "
       "1)" +
           erofs},
      {R"({"device": "/dev/loop3", "mkswap": true})",
       "/sbin/mkswap",
       {1, "mkswap: cannot open /dev/loop3: No such file or directory\n"},
       "mkswap: cannot open /dev/loop3: No such file or directory (exit status 1)" + hidden},
      // Not the sandbox: a missing file outside /dev, a device that is no swap.
      {R"({"device": "/var/lib/swap/swapfile"})",
       "/sbin/swapon",
       {255, "swapon: cannot open /var/lib/swap/swapfile: No such file or directory\n"},
       "swapon: cannot open /var/lib/swap/swapfile: No such file or directory (exit "
       "status 255)"},
      {"{}",
       "/sbin/swapon",
       {255, "swapon: /dev/loop7: read swap header failed\n"},
       "swapon: /dev/loop7: read swap header failed (exit status 255)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.swap + " " + c.answer.output);
    SupervisorRig rig(swap_config(c.swap));
    rig.fake.tools.answer(c.tool, c.answer);
    start_with_swap_on(rig, c.swap == "{}" ? kReadyWithDevice : "READY=1\n");
    EXPECT_EQ(rig.child("backend").swap().state(), SwapState::Failed);
    EXPECT_EQ(rig.child("backend").swap().error(), c.error);
  }
}

TEST(SwapLifecycle, ARefusedStopForbiddenBySandboxSaysWhichDropInIsMissing) {
  SupervisorRig rig(swap_config("{}"));
  start_with_swap_on(rig);
  rig.fake.tools.answer("/sbin/swapoff",
                        {255, "swapoff: /dev/loop7: swapoff failed: Operation not permitted\n"});
  std::optional<mlock::Result<void, ActionError>> outcome;
  ASSERT_TRUE(rig.sup().stop_child("backend", false, [&](auto r) { outcome = r; }));
  rig.round();
  ASSERT_TRUE(outcome);
  ASSERT_FALSE(*outcome);
  EXPECT_EQ(outcome->error().kind, ActionError::Kind::SwapBusy);
  EXPECT_EQ(outcome->error().message,
            "swap on /dev/loop7 cannot be turned off: swapoff: /dev/loop7: swapoff "
            "failed: Operation not permitted (exit status 255) (the supervisor needs "
            "CAP_SYS_ADMIN and the @swap system calls: under systemd, add "
            "examples/units/swap-backend.conf)");
}

TEST(SwapLifecycle, StopTurnsSwapOffFirstThenSignals) {
  SupervisorRig rig(swap_config("{}"));
  start_with_swap_on(rig);
  const pid_t pid = rig.fake.last_pid("backend");
  rig.fake.tools.answer("/sbin/swapoff", FakeTools::hanging());
  std::optional<bool> ok;
  ASSERT_TRUE(rig.sup().stop_child("backend", false, [&](auto r) { ok = r.has_value(); }));
  rig.round();
  EXPECT_EQ(rig.fake.tools.argvs().back(), (Strings{"/sbin/swapoff", "/dev/loop7"}));
  EXPECT_EQ(rig.child("backend").swap().state(), SwapState::Deactivating);
  EXPECT_TRUE(rig.fake.signals_to(pid).empty());  // not before the swap is off
  EXPECT_FALSE(ok);

  rig.fake.tools.finish(rig.fake.tools.last_id(), {});
  EXPECT_EQ(rig.fake.signals_to(pid), (std::vector<int>{SIGTERM}));
  EXPECT_EQ(ok, true);
  rig.round();
  EXPECT_EQ(rig.state("backend"), ChildState::Stopped);
  EXPECT_FALSE(rig.fake.tools.has_area("/dev/loop7"));
}

TEST(SwapLifecycle, FailedSwapoffRefusesTheStop) {
  SupervisorRig rig(swap_config("{}"));
  start_with_swap_on(rig);
  const pid_t pid = rig.fake.last_pid("backend");
  rig.fake.tools.answer("/sbin/swapoff", kSwapoffEnomem);
  std::optional<mlock::Result<void, ActionError>> outcome;
  ASSERT_TRUE(rig.sup().stop_child("backend", false, [&](auto r) { outcome = r; }));
  rig.round();

  ASSERT_TRUE(outcome);
  ASSERT_FALSE(*outcome);
  EXPECT_EQ(outcome->error().kind, ActionError::Kind::SwapBusy);
  EXPECT_EQ(outcome->error().message,
            "swap on /dev/loop7 cannot be turned off: swapoff: /dev/loop7: swapoff failed: "
            "Cannot allocate memory (exit status 255)");
  EXPECT_EQ(rig.state("backend"), ChildState::Running);
  EXPECT_TRUE(rig.fake.running(pid));
  EXPECT_TRUE(rig.fake.signals_to(pid).empty());
  EXPECT_EQ(rig.child("backend").swap().state(), SwapState::On);  // as the kernel says
  EXPECT_NE(rig.child("backend").swap().error().find("Cannot allocate memory"), std::string::npos);
  EXPECT_TRUE(rig.child("backend").swap().active());
  EXPECT_EQ(rig.sup().state(), ManagerState::Degraded);
  EXPECT_EQ(rig.sup().status_line().rfind(
                "degraded: backend stop refused: swap on /dev/loop7 cannot be turned off", 0),
            0u)
      << rig.sup().status_line();
  EXPECT_EQ(rig.log.containing("backend: stop refused").size(), 1u);
}

TEST(SwapLifecycle, ARefusedRestartKeepsTheProcess) {
  SupervisorRig rig(swap_config("{}"));
  start_with_swap_on(rig);
  const pid_t pid = rig.fake.last_pid("backend");
  rig.fake.tools.answer("/sbin/swapoff", kSwapoffEnomem);
  std::optional<bool> ok;
  ASSERT_TRUE(rig.sup().restart_child("backend", [&](auto r) { ok = r.has_value(); }));
  rig.fake.advance(seconds(1));
  EXPECT_EQ(ok, false);
  EXPECT_EQ(rig.child("backend").pid(), pid);
  EXPECT_EQ(rig.fake.spawns_of("backend").size(), 1u);
}

TEST(SwapLifecycle, ForceStopsEvenWhenSwapoffFails) {
  SupervisorRig rig(swap_config("{}"));
  start_with_swap_on(rig);
  const pid_t pid = rig.fake.last_pid("backend");
  rig.fake.tools.answer("/sbin/swapoff", kSwapoffEnomem);
  std::optional<bool> ok;
  ASSERT_TRUE(rig.sup().stop_child("backend", true, [&](auto r) { ok = r.has_value(); }));
  rig.round();
  EXPECT_EQ(ok, true);
  EXPECT_EQ(rig.fake.signals_to(pid), (std::vector<int>{SIGTERM}));
  rig.round();
  EXPECT_EQ(rig.state("backend"), ChildState::Stopped);
  ASSERT_EQ(rig.log.containing("stopping it anyway as forced").size(), 1u);
  EXPECT_EQ(critical_lines(rig).size(), 1u);
}

TEST(SwapLifecycle, DeathWithSwapOnIsCriticalAndRestartsAtOnce) {
  SupervisorRig rig(swap_config("{}", R"("restart": "on-failure", "restart_sec": 30,)"));
  start_with_swap_on(rig);
  const pid_t pid = rig.fake.last_pid("backend");
  const auto died_at = rig.fake.now();
  rig.fake.exit(pid, 0);  // even a clean exit: on-failure allows restarts
  rig.round();
  EXPECT_EQ(critical_lines(rig),
            (Strings{"backend died with swap on /dev/loop7: processes whose pages are there will "
                     "hang; restarting it, whatever its restart policy"}));
  ASSERT_EQ(rig.fake.spawns_of("backend").size(), 2u);
  EXPECT_EQ(rig.fake.spawns_of("backend")[1].at, died_at);  // no backoff
  EXPECT_EQ(rig.sup().state(), ManagerState::Degraded);

  // The new process serves the swap again: the kernel still has it on, no second swapon.
  rig.fake.set_locked_bytes(rig.fake.last_pid("backend"), 4096);
  rig.send("backend", std::string(kLockedReport) + kReadyWithDevice);
  EXPECT_EQ(rig.fake.tools.runs().size(), 1u);
  EXPECT_EQ(rig.child("backend").swap().state(), SwapState::On);
  EXPECT_EQ(rig.sup().state(), ManagerState::Running);
}

// Neither its restart policy nor its start limit leaves a backend dead while its swap is
// on: the first restart is at once, the next ones after the backoff, never given up.
TEST(SwapLifecycle, ABackendWhoseSwapIsOnIsRestartedWhateverItsPolicyAndLimit) {
  SupervisorRig rig(swap_config("{}", R"("restart": "no", "restart_sec": 1,
                                         "restart_max_sec": 60, "start_limit_burst": 2,)"));
  start_with_swap_on(rig);
  for (std::size_t death = 1; death <= 4; ++death) {
    const auto died_at = rig.fake.now();
    rig.fake.exit(rig.fake.last_pid("backend"), 1);
    rig.round();
    ASSERT_NE(rig.state("backend"), ChildState::Failed) << "death " << death;
    if (death == 1) {  // at once
      ASSERT_EQ(rig.fake.spawns_of("backend").size(), 2u);
      EXPECT_EQ(rig.fake.spawns_of("backend").back().at, died_at);
      continue;
    }
    EXPECT_EQ(rig.state("backend"), ChildState::Backoff) << "death " << death;
    ASSERT_TRUE(rig.fake.run_until(
        [&] { return rig.fake.spawns_of("backend").size() == death + 1; }, seconds(60)))
        << "death " << death;
    EXPECT_GT(rig.fake.spawns_of("backend").back().at, died_at);  // after its backoff
  }
  // Four deaths, and each start past the limit of 2 (the third, fourth and fifth).
  EXPECT_EQ(critical_lines(rig).size(), 7u) << testing::PrintToString(critical_lines(rig));
  EXPECT_EQ(rig.log
                .containing("start limit hit: more than 2 starts in 60 s, but its swap on "
                            "/dev/loop7 is still on: starting it anyway")
                .size(),
            3u);
  EXPECT_TRUE(rig.child("backend").swap().active());
}

// A backend that died with its swap on and waits for its restart when the supervisor
// stops comes back first, to serve the swapoff, and is stopped once the swap is off.
TEST(SwapLifecycle, ShutdownBringsADeadBackendBackToTurnItsSwapOff) {
  SupervisorRig rig(swap_config("{}", R"("restart_sec": 5, "restart_max_sec": 60,)"));
  start_with_swap_on(rig);
  rig.fake.exit(rig.fake.last_pid("backend"), 1);  // restarted at once
  rig.round();
  rig.fake.exit(rig.fake.last_pid("backend"), 1);  // now after its backoff
  rig.round();
  ASSERT_EQ(rig.state("backend"), ChildState::Backoff);
  rig.sup().shutdown();
  rig.round();
  EXPECT_FALSE(rig.sup().finished());
  EXPECT_EQ(rig.state("backend"), ChildState::Backoff);  // not cancelled
  ASSERT_TRUE(
      rig.fake.run_until([&] { return rig.fake.spawns_of("backend").size() == 3u; }, seconds(60)));
  const pid_t back = rig.fake.last_pid("backend");
  EXPECT_EQ(rig.fake.tools.runs().size(), 1u);  // no swapoff while it is not serving
  rig.fake.set_locked_bytes(back, 4096);
  rig.send("backend", std::string(kLockedReport) + kReadyWithDevice);
  rig.round();
  EXPECT_EQ(rig.fake.tools.argvs().back(), (Strings{"/sbin/swapoff", "/dev/loop7"}));
  EXPECT_TRUE(rig.fake.run_until([&] { return rig.sup().finished(); }, seconds(5)));
  EXPECT_EQ(rig.fake.signals_to(back), (std::vector<int>{SIGTERM}));
}

TEST(SwapLifecycle, ShutdownTurnsSwapOffAfterItsUsersStoppedThenStopsTheBackend) {
  SupervisorRig rig(swap_config("{}", "", R"(, "user": {"exec": ["/bin/user"], "ready": "exec",
                                              "after": ["backend"]})"));
  rig.fake.set_new_process_memory({.locked_bytes = 4096});
  rig.sup().start();
  rig.send("backend", std::string(kLockedReport) + kReadyWithDevice);
  rig.round();
  const pid_t backend = rig.fake.last_pid("backend"), user = rig.fake.last_pid("user");
  ASSERT_EQ(rig.child("backend").swap().state(), SwapState::On);
  rig.fake.tools.answer("/sbin/swapoff", FakeTools::hanging());
  rig.sup().shutdown();
  rig.round();
  EXPECT_EQ(rig.fake.signals_to(user), (std::vector<int>{SIGTERM}));
  rig.round();
  EXPECT_EQ(rig.fake.tools.argvs().back(), (Strings{"/sbin/swapoff", "/dev/loop7"}));
  EXPECT_TRUE(rig.fake.signals_to(backend).empty());
  rig.fake.tools.finish(rig.fake.tools.last_id(), {});
  EXPECT_EQ(rig.fake.signals_to(backend), (std::vector<int>{SIGTERM}));
  rig.round();
  EXPECT_TRUE(rig.sup().finished() ||
              rig.fake.run_until([&] { return rig.sup().finished(); }, seconds(5)));
}

TEST(SwapLifecycle, ShutdownWaitsForARefusedSwapoffAndRetries) {
  SupervisorRig rig(swap_config("{}"));
  start_with_swap_on(rig);
  rig.fake.tools.answer("/sbin/swapoff", kSwapoffEnomem);
  rig.sup().shutdown();
  rig.fake.advance(seconds(1));
  EXPECT_FALSE(rig.sup().finished());
  EXPECT_EQ(rig.fake.tools.runs().size(), 2u);  // swapon, one swapoff
  // systemd's STATUS says what the stop waits for.
  EXPECT_EQ(rig.sup().status_line().rfind(
                "stopping, waiting: backend stop refused: swap on /dev/loop7 cannot be turned "
                "off: swapoff: /dev/loop7: swapoff failed: Cannot allocate memory",
                0),
            0u)
      << rig.sup().status_line();
  rig.fake.advance(Supervisor::kStopRetry);
  EXPECT_EQ(rig.fake.tools.runs().size(), 3u);  // tried again, not in a loop
  rig.fake.tools.answer("/sbin/swapoff", {});
  rig.fake.advance(Supervisor::kStopRetry);
  EXPECT_TRUE(rig.fake.run_until([&] { return rig.sup().finished(); }, seconds(5)));
}

TEST(SwapLifecycle, ReloadRemovingTheChildTurnsItsSwapOffFirst) {
  SupervisorRig rig(swap_config("{}"));
  start_with_swap_on(rig);
  const pid_t pid = rig.fake.last_pid("backend");
  rig.loader = [] { return config_from_documents({{"test.json", R"({"children": {}})"}}); };
  ASSERT_TRUE(rig.sup().reload());
  rig.round();
  EXPECT_EQ(rig.fake.tools.argvs().back(), (Strings{"/sbin/swapoff", "/dev/loop7"}));
  EXPECT_EQ(rig.fake.signals_to(pid), (std::vector<int>{SIGTERM}));
  rig.fake.advance(seconds(1));
  EXPECT_EQ(rig.sup().find("backend"), nullptr);
}

TEST(SwapLifecycle, SwapoffThatNeverEndsIsKilledAtItsDeadlineAndRefuses) {
  SupervisorRig rig(swap_config("{}"));
  start_with_swap_on(rig);
  rig.fake.tools.answer("/sbin/swapoff", FakeTools::hanging());
  std::optional<bool> ok;
  ASSERT_TRUE(rig.sup().stop_child("backend", false, [&](auto r) { ok = r.has_value(); }));
  rig.fake.advance(SwapControl::kSwapoffTimeout + seconds(1));
  EXPECT_EQ(ok, false);
  EXPECT_TRUE(rig.fake.tools.runs().back().killed);
  EXPECT_EQ(rig.state("backend"), ChildState::Running);
}

TEST(SwapLifecycle, SwapTurnedOffByHandIsNoticedAndNotTurnedOnAgain) {
  SupervisorRig rig(swap_config("{}"));
  start_with_swap_on(rig);
  rig.fake.tools.remove_area("/dev/loop7");
  rig.fake.advance(milliseconds(500));
  EXPECT_EQ(rig.child("backend").swap().state(), SwapState::Off);
  EXPECT_EQ(rig.fake.tools.runs().size(), 1u);
  EXPECT_EQ(rig.log.containing("turned off outside the supervisor").size(), 1u);
}

}  // namespace
}  // namespace duende::supervisor::test
