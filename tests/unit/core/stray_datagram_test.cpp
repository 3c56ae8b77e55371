// Datagrams on the notify socket from a process that is not a current child are dropped,
// and the log line about them is rate-limited (anyone can send them).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "supervisor_rig.hpp"

namespace duende::supervisor {
namespace {

using std::chrono::seconds;
using test::SupervisorRig;

constexpr const char* kNotify = R"({"children": {"n": {
    "exec": ["/bin/n"], "ready": "notify", "mlock": {"required": false}}}})";

TEST(SupervisorDatagram, IgnoresReadyFromAPidThatIsNotAChild) {
  SupervisorRig rig(kNotify);
  rig.sup().start();
  const pid_t child = rig.fake.last_pid("n");

  rig.sup().on_datagram(Datagram{child + 1, "READY=1", false});
  rig.sup().on_datagram(Datagram{0, "READY=1", false});

  EXPECT_EQ(rig.state("n"), ChildState::Starting);
  EXPECT_EQ(rig.sup().state(), ManagerState::Starting);
  EXPECT_EQ(rig.log.containing("notify socket: ignored"),
            (std::vector<std::string>{"notify socket: ignored datagram from pid " +
                                          std::to_string(child + 1) + ", not a child",
                                      "notify socket: ignored datagram from pid 0, not a child"}));
}

TEST(SupervisorDatagram, IgnoresADatagramFromAnEarlierProcessOfTheChild) {
  SupervisorRig rig(R"({"children": {"n": {"exec": ["/bin/n"], "ready": "notify",
      "restart_sec": 1, "mlock": {"required": false}}}})");
  rig.sup().start();
  const pid_t old = rig.fake.last_pid("n");
  rig.fake.exit(old, 1);
  rig.fake.advance(seconds(1));
  ASSERT_NE(rig.fake.last_pid("n"), old);

  rig.sup().on_datagram(Datagram{old, "READY=1", false});

  EXPECT_EQ(rig.state("n"), ChildState::Starting);
  EXPECT_EQ(rig.log.containing("ignored datagram from pid " + std::to_string(old)).size(), 1u);
}

TEST(SupervisorDatagram, IgnoresTruncatedAndMalformedDatagramsFromTheChild) {
  SupervisorRig rig(kNotify);
  rig.sup().start();
  const pid_t child = rig.fake.last_pid("n");

  rig.sup().on_datagram(Datagram{child, "READY=1", true});
  rig.sup().on_datagram(Datagram{child, "READY=1\ngarbage", false});

  EXPECT_EQ(rig.state("n"), ChildState::Starting);
  EXPECT_EQ(rig.log.containing("notify socket: ignored"),
            (std::vector<std::string>{
                "notify socket: ignored n: oversized datagram",
                "notify socket: ignored n: malformed datagram: line without KEY=: \"garbage\""}));
}

TEST(SupervisorDatagram, RateLimitsTheLogLineAndCountsTheSuppressed) {
  SupervisorRig rig(kNotify);
  rig.sup().start();

  for (int i = 0; i < 8; ++i) rig.sup().on_datagram(Datagram{4242, "READY=1", false});
  EXPECT_EQ(rig.log.containing("notify socket: ignored").size(), 5u);  // 5 per 10 s

  rig.fake.advance(seconds(10));
  rig.sup().on_datagram(Datagram{4242, "READY=1", false});

  const auto lines = rig.log.containing("notify socket: ignored");
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines.back(),
            "notify socket: ignored datagram from pid 4242, not a child (3 more suppressed)");
  EXPECT_EQ(rig.state("n"), ChildState::Starting);
}

}  // namespace
}  // namespace duende::supervisor
