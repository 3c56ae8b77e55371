// sd_notify both ways: what the daemon tells systemd (READY, STATUS, RELOADING, STOPPING,
// WATCHDOG) on the test's own NOTIFY_SOCKET, and what the children's notify socket accepts
// (only a current child's well-formed datagrams) and what children find in their
// environment.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "privilege.hpp"
#include "supervisor_harness.hpp"

namespace duende::itest {
namespace {

// Sends `text` to the unix datagram socket at `path` from this (test) process.
void send_datagram(const std::string& path, const std::string& text) {
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  EXPECT_EQ(
      sendto(fd, text.data(), text.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr),
      static_cast<ssize_t>(text.size()))
      << strerror(errno);
  close(fd);
}

int count_notifications(Harness& h, const std::string& needle) {
  int n = 0;
  for (const auto& note : h.notifications())
    if (note.text.find(needle) != std::string::npos) ++n;
  return n;
}

TEST(SupervisorSystemdNotify, SendsReadyStatusReloadingStoppingAndWatchdog) {
  Harness h;
  h.config["children"]["svc"] = unlocked_child({"--ready"}, "notify");
  Harness::Launch launch;
  launch.watchdog_usec = 200000;
  h.start(launch);
  ASSERT_TRUE(h.wait_for_log("watchdog: keep-alive every 100 ms"));
  const int ready = h.wait_for_notification("READY=1");
  ASSERT_GE(ready, 0);
  EXPECT_TRUE(h.wait_for_status("1 running"));
  // Keep-alives keep coming from the loop.
  ASSERT_TRUE(h.wait_until([&] { return count_notifications(h, "WATCHDOG=1") >= 3; }));

  h.send_signal(SIGHUP);
  const int reloading = h.wait_for_notification("RELOADING=1", ready + 1);
  ASSERT_GT(reloading, ready);
  EXPECT_NE(h.notifications()[reloading].text.find("\nMONOTONIC_USEC="), std::string::npos);
  const int ready_again = h.wait_for_notification("READY=1", reloading);
  EXPECT_GT(ready_again, reloading);
  const int watchdogs = count_notifications(h, "WATCHDOG=1");
  ASSERT_TRUE(h.wait_until([&] { return count_notifications(h, "WATCHDOG=1") > watchdogs; }));

  h.send_signal(SIGTERM);
  EXPECT_EQ(h.wait_exit(), 0);
  const int stopping = h.find_notification("STOPPING=1");
  EXPECT_GT(stopping, ready_again);
  EXPECT_EQ(h.last_status(), "stopping");
  // Every message came from the daemon itself, as systemd requires (NotifyAccess=main).
  for (const auto& note : h.notifications()) EXPECT_EQ(note.sender, h.pid()) << note.text;
}

TEST(SupervisorSystemdNotify, NoWatchdogWhenSystemdAskedForNone) {
  Harness h;
  h.config["children"]["svc"] = unlocked_child({"--ready"}, "notify");
  h.start();
  ASSERT_GE(h.wait_for_notification("READY=1"), 0);
  h.pause(300);
  EXPECT_EQ(count_notifications(h, "WATCHDOG=1"), 0);
  EXPECT_EQ(h.count("watchdog:"), 0);
}

TEST(SupervisorNotifySocket, IgnoresDatagramsFromProcessesThatAreNotChildren) {
  Harness h;
  const std::string gate = h.path("ready");
  h.config["children"]["svc"] = unlocked_child({"--ready-when", gate}, "notify");
  h.start();
  ASSERT_GT(h.wait_child_pid("svc"), 0);

  // The test is not a child: its READY=1 and its lock report must change nothing.
  send_datagram(h.children_socket(), "READY=1");
  send_datagram(h.children_socket(),
                "X_DUENDE_MLOCK=locked\nX_DUENDE_MLOCK_BYTES=4096\nX_DUENDE_MLOCK_ERRNO=0");
  const std::string ignored =
      "notify socket: ignored datagram from pid " + std::to_string(getpid()) + ", not a child";
  ASSERT_TRUE(h.wait_for_log(ignored, 2));
  h.pause(200);
  EXPECT_EQ(h.count("svc: ready"), 0);
  EXPECT_EQ(h.find_notification("READY=1"), -1);
  EXPECT_TRUE(h.wait_for_status("0 running"));

  // The child itself is still heard.
  h.write_file(gate, "");
  EXPECT_TRUE(h.wait_for_log("svc: ready"));
  EXPECT_GE(h.wait_for_notification("READY=1"), 0);
}

TEST(SupervisorNotifySocket, MalformedAndOversizedDatagramsDoNoHarm) {
  Harness h;
  h.config["children"]["noisy"] =
      unlocked_child({"--send-text", "no equals sign here", "--send-oversized", "--send-text",
                      "X_DUENDE_MLOCK=maybe", "--ready"},
                     "notify");
  h.start();
  ASSERT_TRUE(h.wait_for_log("noisy: ready"));
  EXPECT_GE(h.line_index("notify socket: ignored noisy: malformed datagram: line without KEY=: "
                         "\"no equals sign here\""),
            0);
  EXPECT_GE(h.line_index("notify socket: ignored noisy: oversized datagram"), 0);
  EXPECT_GE(h.line_index("notify socket: ignored noisy: malformed datagram: X_DUENDE_MLOCK: "
                         "unknown value \"maybe\""),
            0);
  EXPECT_LT(h.line_index("oversized datagram"), h.line_index("noisy: ready"));
  EXPECT_TRUE(h.wait_for_status("1 running"));
  EXPECT_TRUE(process_alive(h.pid()));
}

TEST(SupervisorNotifySocket, StrayDatagramLogLinesAreRateLimited) {
  Harness h;
  h.start();
  ASSERT_GE(h.wait_for_notification("READY=1"), 0);
  for (int i = 0; i < 20; ++i) send_datagram(h.children_socket(), "READY=1");
  ASSERT_TRUE(h.wait_for_log("not a child", 5));
  h.pause(300);
  EXPECT_EQ(h.count("not a child"), 5);
}

TEST(SupervisorEnvironment, ChildStartsFromACleanEnvironment) {
  Harness h;
  const std::string env_file = h.path("env");
  Json c = unlocked_child({"--print-env", env_file, "--ready"}, "notify");
  c["environment"] = {{"CHILD_VAR", "x y"},
                      {"PATH", "/opt/bin"},
                      {"NOTIFY_SOCKET", "/elsewhere"},
                      {"DUENDE_MLOCK_REPORT", "0"}};
  c["mlock"] = {{"required", false}, {"onfault", true}, {"future", false}};
  h.config["children"]["envy"] = c;
  h.start();
  ASSERT_TRUE(h.wait_for_log("envy: ready"));
  std::ifstream in(env_file);
  std::vector<std::string> env;
  for (std::string line; std::getline(in, line);) env.push_back(line);
  const auto has = [&](const std::string& entry) {
    return std::find(env.begin(), env.end(), entry) != env.end();
  };
  EXPECT_TRUE(has("CHILD_VAR=x y"));
  EXPECT_TRUE(has("PATH=/opt/bin"));  // the child's own PATH wins over the default
  // Set by the supervisor and not overridable.
  EXPECT_TRUE(has("NOTIFY_SOCKET=" + h.children_socket()));
  EXPECT_TRUE(has("DUENDE_MLOCK_REPORT=1"));
  EXPECT_TRUE(has("DUENDE_MLOCK_CURRENT=1"));
  EXPECT_TRUE(has("DUENDE_MLOCK_FUTURE=0"));
  EXPECT_TRUE(has("DUENDE_MLOCK_ONFAULT=1"));
  EXPECT_TRUE(has("DUENDE_MLOCK_REQUIRED=0"));
  EXPECT_TRUE(has("DUENDE_MLOCK_IO_FLUSHER=0"));
  EXPECT_TRUE(has("DUENDE_MLOCK_RETAIN_HEAP=0"));
  // Nothing of the supervisor's own environment leaks in.
  for (const auto& entry : env) {
    EXPECT_NE(entry.rfind("MLOCK_IT_SHOULD_NOT_LEAK=", 0), 0u) << entry;
    EXPECT_NE(entry.rfind("RUNTIME_DIRECTORY=", 0), 0u) << entry;
    EXPECT_NE(entry.rfind("LD_PRELOAD=", 0), 0u) << entry;  // "preload": false
  }
}

TEST(SupervisorEnvironment, PreloadPutsTheShimFirstInLdPreload) {
  DUENDE_SKIP_IF_SANITIZED("the shim cannot load into a program without the ASan runtime");
  Harness h;
  const std::string env_file = h.path("env");
  Json c = unlocked_child({"--print-env", env_file, "--ready"}, "notify");
  c["preload"] = true;
  c["environment"] = {{"LD_PRELOAD", "/nonexistent/libextra.so"}};  // ld.so skips it
  h.config["children"]["shimmed"] = c;
  h.start();
  ASSERT_TRUE(h.wait_for_log("shimmed: ready"));
  std::ifstream in(env_file);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find(std::string("\nLD_PRELOAD=") + kPreloadLib + " /nonexistent/libextra.so\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("DUENDE_MLOCK_REPORT=1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nNOTIFY_SOCKET=" + h.children_socket() + "\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace duende::itest
