// The fake OS seam itself: the core's tests are only as good as its clock and processes.
#include "fake_system.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

namespace duende::supervisor {
namespace {

using std::chrono::milliseconds;
using test::FakeSystem;

SpawnRequest request(const std::string& program) {
  SpawnRequest r;
  r.argv = {program};
  return r;
}

TEST(FakeSystem, AdvanceFiresEachRequestedWakeUpAtItsExactTime) {
  FakeSystem fake;
  std::vector<Clock::duration> woke;
  fake.set_wakeup_handler([&] {
    woke.push_back(fake.now() - FakeSystem::kStart);
    if (woke.size() < 3) fake.wake_at(fake.now() + milliseconds(30));
  });
  fake.wake_at(fake.now() + milliseconds(10));

  fake.advance(milliseconds(1000));

  EXPECT_EQ(woke,
            (std::vector<Clock::duration>{milliseconds(10), milliseconds(40), milliseconds(70)}));
  EXPECT_EQ(fake.now(), FakeSystem::kStart + milliseconds(1000));
}

TEST(FakeSystem, SpawnedProcessEndsOnSignalAtTheNextDeliveryAndReapsOnce) {
  FakeSystem fake;
  int exits = 0;
  const auto spawned = fake.spawn(request("/bin/x"), "x", [&] { ++exits; });
  ASSERT_TRUE(spawned.has_value());
  const ProcessHandle p = *spawned;
  EXPECT_EQ(p.pid, FakeSystem::kFirstPid);
  EXPECT_TRUE(p.valid());
  EXPECT_FALSE(fake.reap(p).has_value());

  int group_error = -1;
  EXPECT_EQ(fake.signal(p, SIGTERM, group_error), 0);
  EXPECT_EQ(group_error, 0);
  EXPECT_EQ(exits, 0);  // not from inside signal()
  fake.deliver_pending();

  EXPECT_EQ(exits, 1);
  const auto status = fake.reap(p);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->as_int(), -SIGTERM);
  EXPECT_FALSE(fake.reap(p).has_value());
  EXPECT_EQ(fake.inspect(p.pid).error().error_number, ESRCH);
}

TEST(FakeSystem, FailedSpawnReturnsTheErrorOnce) {
  FakeSystem fake;
  fake.fail_next_spawn({"exec /x", ENOENT});

  const auto failed = fake.spawn(request("/x"), "x", [] {});
  const auto next = fake.spawn(request("/x"), "x", [] {});

  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().message(), "exec /x: No such file or directory");
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(fake.spawns().size(), 2u);
  EXPECT_EQ(fake.spawns()[0].pid, 0);
}

TEST(FakeSystem, ReleasedProcessGetsNoExitCallback) {
  FakeSystem fake;
  int exits = 0;
  auto p = *fake.spawn(request("/bin/x"), "x", [&] { ++exits; });
  const pid_t pid = p.pid;

  fake.release(p, true);
  fake.exit(pid, 0);

  EXPECT_EQ(exits, 0);
  EXPECT_FALSE(fake.running(pid));
  EXPECT_TRUE(fake.released(pid));
  EXPECT_FALSE(p.valid());
}

}  // namespace
}  // namespace duende::supervisor
