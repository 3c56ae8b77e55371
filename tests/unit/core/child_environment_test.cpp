// child_environment: the clean environment a supervised child starts with.
#include "core/child_environment.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace duende::supervisor {
namespace {

const std::string kSocket = "/run/mlock-supervisor/notify";
const std::string kShim = "/usr/lib/libduende-mlock-preload.so";

ChildSpec child() {
  ChildSpec c;
  c.name = "swap0";
  c.exec = {"/usr/bin/ublk-server"};
  return c;
}

// The value of `key` in `env`, nullopt when absent.
std::optional<std::string> value(const std::vector<std::string>& env, const std::string& key) {
  for (const auto& entry : env)
    if (entry.rfind(key + "=", 0) == 0) return entry.substr(key.size() + 1);
  return std::nullopt;
}

TEST(ChildEnvironment, DefaultsAreExactlyTheseSortedByKey) {
  EXPECT_EQ(child_environment(child(), kSocket, kShim, ""), (std::vector<std::string>{
                                                                "DUENDE_MLOCK_CURRENT=1",
                                                                "DUENDE_MLOCK_FUTURE=1",
                                                                "DUENDE_MLOCK_IO_FLUSHER=0",
                                                                "DUENDE_MLOCK_ONFAULT=0",
                                                                "DUENDE_MLOCK_RELOCK_AFTER_FORK=1",
                                                                "DUENDE_MLOCK_REPORT=1",
                                                                "DUENDE_MLOCK_REQUIRED=1",
                                                                "DUENDE_MLOCK_RETAIN_HEAP=0",
                                                                "LD_PRELOAD=" + kShim,
                                                                "NOTIFY_SOCKET=" + kSocket,
                                                                "PATH=" + std::string(kDefaultPath),
                                                            }));
}

TEST(ChildEnvironment, FlagsFollowTheChildsMlock) {
  ChildSpec c = child();
  c.mlock = mlock::MlockConfig::builder()
                .current(false)
                .future(true)
                .onfault(true)
                .required(false)
                .io_flusher(true)
                .retain_heap(true)
                .build();
  const auto env = child_environment(c, kSocket, kShim, "");
  EXPECT_EQ(value(env, "DUENDE_MLOCK_CURRENT"), "0");
  EXPECT_EQ(value(env, "DUENDE_MLOCK_FUTURE"), "1");
  EXPECT_EQ(value(env, "DUENDE_MLOCK_ONFAULT"), "1");
  EXPECT_EQ(value(env, "DUENDE_MLOCK_REQUIRED"), "0");
  EXPECT_EQ(value(env, "DUENDE_MLOCK_IO_FLUSHER"), "1");
  EXPECT_EQ(value(env, "DUENDE_MLOCK_RETAIN_HEAP"), "1");
  EXPECT_EQ(value(env, "DUENDE_MLOCK_REPORT"), "1");
}

TEST(ChildEnvironment, ChildEnvironmentAddsAndOverridesPath) {
  ChildSpec c = child();
  c.environment = {{"RUST_LOG", "info"}, {"PATH", "/opt/bin"}, {"EMPTY", ""}};
  const auto env = child_environment(c, kSocket, kShim, "");
  EXPECT_EQ(value(env, "RUST_LOG"), "info");
  EXPECT_EQ(value(env, "PATH"), "/opt/bin");
  EXPECT_EQ(value(env, "EMPTY"), "");
  EXPECT_TRUE(std::is_sorted(env.begin(), env.end()));
}

TEST(ChildEnvironment, SupervisorVariablesCannotBeOverridden) {
  ChildSpec c = child();
  c.mlock = mlock::MlockConfig::builder().required(false).build();
  c.environment = {{"NOTIFY_SOCKET", "/elsewhere"},
                   {"DUENDE_MLOCK_REPORT", "0"},
                   {"DUENDE_MLOCK_REQUIRED", "1"},
                   {"DUENDE_MLOCK_CURRENT", "0"}};
  const auto env = child_environment(c, kSocket, kShim, "");
  EXPECT_EQ(value(env, "NOTIFY_SOCKET"), kSocket);
  EXPECT_EQ(value(env, "DUENDE_MLOCK_REPORT"), "1");
  EXPECT_EQ(value(env, "DUENDE_MLOCK_REQUIRED"), "0");
  EXPECT_EQ(value(env, "DUENDE_MLOCK_CURRENT"), "1");
  // Each key once.
  EXPECT_EQ(std::count_if(env.begin(), env.end(),
                          [](const std::string& e) { return e.rfind("NOTIFY_SOCKET=", 0) == 0; }),
            1);
}

TEST(ChildEnvironment, PreloadPrependsTheShimToTheChildsLdPreload) {
  ChildSpec c = child();
  c.environment = {{"LD_PRELOAD", "/usr/lib/libjemalloc.so.2 /usr/lib/libother.so"}};
  EXPECT_EQ(value(child_environment(c, kSocket, kShim, ""), "LD_PRELOAD"),
            kShim + " /usr/lib/libjemalloc.so.2 /usr/lib/libother.so");
  c.environment = {{"LD_PRELOAD", ""}};
  EXPECT_EQ(value(child_environment(c, kSocket, kShim, ""), "LD_PRELOAD"), kShim);
}

TEST(ChildEnvironment, WithoutPreloadLdPreloadIsTheChildsOwn) {
  ChildSpec c = child();
  c.preload = false;
  EXPECT_EQ(value(child_environment(c, kSocket, kShim, ""), "LD_PRELOAD"), std::nullopt);
  c.environment = {{"LD_PRELOAD", "/usr/lib/libjemalloc.so.2"}};
  EXPECT_EQ(value(child_environment(c, kSocket, kShim, ""), "LD_PRELOAD"),
            "/usr/lib/libjemalloc.so.2");
}

TEST(ChildEnvironment, NamedUserGetsUserLognameAndHome) {
  ChildSpec c = child();
  c.uid = 1000;
  c.user_name = "ublk";
  const auto env = child_environment(c, kSocket, kShim, "/var/lib/ublk");
  EXPECT_EQ(value(env, "USER"), "ublk");
  EXPECT_EQ(value(env, "LOGNAME"), "ublk");
  EXPECT_EQ(value(env, "HOME"), "/var/lib/ublk");
  // No home known: no HOME at all rather than an empty one.
  EXPECT_EQ(value(child_environment(c, kSocket, kShim, ""), "HOME"), std::nullopt);
}

TEST(ChildEnvironment, UserVariablesCanBeOverridden) {
  ChildSpec c = child();
  c.uid = 1000;
  c.user_name = "ublk";
  c.environment = {{"HOME", "/srv/ublk"}, {"USER", "other"}};
  const auto env = child_environment(c, kSocket, kShim, "/var/lib/ublk");
  EXPECT_EQ(value(env, "HOME"), "/srv/ublk");
  EXPECT_EQ(value(env, "USER"), "other");
  EXPECT_EQ(value(env, "LOGNAME"), "ublk");
}

TEST(ChildEnvironment, NoUserNameNoUserVariables) {
  ChildSpec c = child();
  c.uid = 4242;  // numeric, not in passwd
  const auto env = child_environment(c, kSocket, kShim, "/home/x");
  EXPECT_EQ(value(env, "USER"), std::nullopt);
  EXPECT_EQ(value(env, "LOGNAME"), std::nullopt);
  EXPECT_EQ(value(env, "HOME"), std::nullopt);
}

}  // namespace
}  // namespace duende::supervisor
