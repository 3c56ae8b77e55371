// TimerQueue on its own, on the fake clock: order of deadlines, ties, periodic timers,
// disarming from a callback, and one wake-up request for the earliest deadline.
#include "core/timer_queue.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "fake_system.hpp"

namespace duende::supervisor {
namespace {

using std::chrono::milliseconds;
using test::FakeSystem;

struct Firing {
  std::string name;
  Clock::duration at;  // since FakeSystem::kStart
  bool operator==(const Firing&) const = default;
};

TEST(TimerQueue, FiresInOrderOfDeadlineAtTheExactTime) {
  FakeSystem fake;
  TimerQueue queue(fake);
  std::vector<Firing> fired;
  auto record = [&](const char* name) {
    return [&fired, &fake, name] { fired.push_back({name, fake.now() - FakeSystem::kStart}); };
  };
  Timer late(queue, record("late"));
  Timer early(queue, record("early"));
  Timer middle(queue, record("middle"));
  late.arm(milliseconds(300));
  early.arm(milliseconds(100));
  middle.arm(milliseconds(200));

  fake.advance(milliseconds(1000));

  EXPECT_EQ(fired, (std::vector<Firing>{{"early", milliseconds(100)},
                                        {"middle", milliseconds(200)},
                                        {"late", milliseconds(300)}}));
  EXPECT_FALSE(late.armed());
  EXPECT_EQ(queue.armed_count(), 0u);
}

TEST(TimerQueue, BreaksTiesInArmingOrder) {
  FakeSystem fake;
  TimerQueue queue(fake);
  std::vector<std::string> fired;
  Timer c(queue, [&] { fired.push_back("c"); });
  Timer a(queue, [&] { fired.push_back("a"); });
  Timer b(queue, [&] { fired.push_back("b"); });
  b.arm(milliseconds(50));
  c.arm(milliseconds(50));
  a.arm(milliseconds(50));

  fake.advance(milliseconds(50));

  EXPECT_EQ(fired, (std::vector<std::string>{"b", "c", "a"}));
}

TEST(TimerQueue, PeriodicTimerFiresEveryPeriodUntilDisarmed) {
  FakeSystem fake;
  TimerQueue queue(fake);
  std::vector<Clock::duration> at;
  Timer tick(queue, [&] { at.push_back(fake.now() - FakeSystem::kStart); });
  tick.arm(milliseconds(100), milliseconds(250));

  fake.advance(milliseconds(700));
  EXPECT_EQ(
      at, (std::vector<Clock::duration>{milliseconds(100), milliseconds(350), milliseconds(600)}));
  EXPECT_TRUE(tick.armed());

  tick.disarm();
  fake.advance(milliseconds(1000));
  EXPECT_EQ(at.size(), 3u);
  EXPECT_EQ(fake.requested_wake(), Clock::time_point::max());
}

TEST(TimerQueue, CallbackDisarmingADueTimerKeepsItFromFiring) {
  FakeSystem fake;
  TimerQueue queue(fake);
  std::vector<std::string> fired;
  Timer second(queue, [&] { fired.push_back("second"); });
  Timer periodic(queue, [&] { fired.push_back("periodic"); });
  Timer first(queue, [&] {
    fired.push_back("first");
    second.disarm();
    periodic.disarm();
  });
  first.arm(milliseconds(10));
  second.arm(milliseconds(10));
  periodic.arm(milliseconds(10), milliseconds(10));

  fake.advance(milliseconds(100));

  EXPECT_EQ(fired, (std::vector<std::string>{"first"}));
  EXPECT_EQ(queue.armed_count(), 0u);
}

TEST(TimerQueue, TimerArmedByACallbackWaitsForTheNextWakeUpEvenWithZeroDelay) {
  FakeSystem fake;
  TimerQueue queue(fake);
  int runs = 0, again_runs = 0;
  Timer again(queue, [&] { ++again_runs; });
  Timer t(queue, [&] {
    ++runs;
    again.arm(milliseconds(0));
  });
  t.arm(milliseconds(0));

  queue.run_due();  // one bounded round: only what was armed before it began
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(again_runs, 0);
  EXPECT_TRUE(again.armed());
  EXPECT_EQ(fake.requested_wake(), fake.now());  // the next round, at once

  queue.run_due();
  EXPECT_EQ(again_runs, 1);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(fake.requested_wake(), Clock::time_point::max());
}

TEST(TimerQueue, ACallbackThatThrowsStillLeavesTheQueueWorking) {
  FakeSystem fake;
  TimerQueue queue(fake);
  int later_runs = 0;
  Timer bad(queue, [] { throw std::runtime_error("boom"); });
  Timer later(queue, [&] { ++later_runs; });
  bad.arm(milliseconds(1));
  later.arm(milliseconds(10));
  EXPECT_THROW(fake.advance(milliseconds(1)), std::runtime_error);
  EXPECT_EQ(fake.requested_wake(), fake.now() + milliseconds(9));
  fake.advance(milliseconds(9));
  EXPECT_EQ(later_runs, 1);
}

TEST(TimerQueue, AsksForOneWakeUpAtTheEarliestDeadline) {
  FakeSystem fake;
  TimerQueue queue(fake);
  Timer a(queue, [] {});
  Timer b(queue, [] {});
  Timer c(queue, [] {});
  const auto t0 = fake.now();

  a.arm(milliseconds(300));
  b.arm(milliseconds(100));
  c.arm(milliseconds(200));  // not the earliest: no new request

  EXPECT_EQ(fake.wake_requests(),
            (std::vector<Clock::time_point>{t0 + milliseconds(300), t0 + milliseconds(100)}));
  EXPECT_EQ(queue.next_deadline(), t0 + milliseconds(100));

  b.disarm();  // the earliest goes: ask for the next one
  EXPECT_EQ(fake.requested_wake(), t0 + milliseconds(200));
  EXPECT_EQ(fake.wake_requests().size(), 3u);
}

TEST(TimerQueue, DestroyingATimerDisarmsIt) {
  FakeSystem fake;
  TimerQueue queue(fake);
  int fired = 0;
  {
    Timer t(queue, [&] { ++fired; });
    t.arm(milliseconds(10));
    EXPECT_EQ(queue.armed_count(), 1u);
  }
  fake.advance(milliseconds(20));
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(queue.armed_count(), 0u);
}

}  // namespace
}  // namespace duende::supervisor
