// The daemon's log as journal entries: with MLOCK_SUPERVISOR_JOURNAL_SOCKET (for tests:
// where /run/systemd/journal/socket would be) the daemon sends native-protocol datagrams
// to a socket the test owns, and the test reads their fields.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "privilege.hpp"
#include "supervisor_harness.hpp"

namespace duende::itest {
namespace {

constexpr const char* kLockLostId = "61f43e8dad154113bd8e6dff7c0eb8ac";
constexpr const char* kStartFailedId = "0d24aee25b234157833485a67ae99902";

using Fields = std::map<std::string, std::string>;

class JournalSocket {
 public:
  explicit JournalSocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("bind " + path + ": " + std::strerror(errno));
  }
  ~JournalSocket() { ::close(fd_); }
  // Reads what has arrived; each entry's fields (KEY=value lines).
  const std::vector<Fields>& read() {
    char buf[16384];
    for (ssize_t n; (n = ::recv(fd_, buf, sizeof buf, 0)) >= 0;) {
      Fields f;
      std::istringstream lines(std::string(buf, static_cast<std::size_t>(n)));
      for (std::string line; std::getline(lines, line);)
        if (const auto eq = line.find('='); eq != std::string::npos)
          f[line.substr(0, eq)] = line.substr(eq + 1);
      entries_.push_back(std::move(f));
    }
    return entries_;
  }
  // The first entry whose MESSAGE contains `needle`, waiting for it.
  std::optional<Fields> wait_for(Harness& h, const std::string& needle) {
    std::optional<Fields> found;
    h.wait_until([&] {
      for (const Fields& f : read())
        if (const auto m = f.find("MESSAGE");
            m != f.end() && m->second.find(needle) != std::string::npos) {
          found = f;
          return true;
        }
      return false;
    });
    return found;
  }
  std::string environment() const { return "MLOCK_SUPERVISOR_JOURNAL_SOCKET=" + path_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<Fields> entries_;
};

pid_t only_child_of(pid_t parent) {
  std::ifstream in("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) +
                   "/children");
  pid_t pid = 0;
  in >> pid;
  return pid;
}

TEST(Journal, ALostLockIsAnEntryWithItsChildPriorityAndMessageId) {
  DUENDE_SKIP_IF_SANITIZED("ASan makes mlockall() a no-op: nothing would be locked");
  Harness h;
  JournalSocket journal(h.path("journal"));
  const std::string gate = h.path("unlock");
  Json c = test_child({"--lock", "--unlock-when", gate});
  c["on_lock_lost"] = "warn";
  h.config["children"]["fragile"] = c;
  Harness::Launch launch;
  launch.extra_environment = {journal.environment()};
  h.start(launch);
  ASSERT_TRUE(h.wait_for_status("1/1 children locked"));
  const pid_t pid = only_child_of(h.pid());
  ASSERT_GT(pid, 0);
  // An unread datagram socket holds net.unix.max_dgram_qlen (10) entries: empty it, so
  // that the entry asserted on is never one the daemon had to drop.
  journal.read();
  h.write_file(gate, std::to_string(pid));

  const auto lost = journal.wait_for(h, "fragile: lost its lock");
  ASSERT_TRUE(lost) << h.log_text();
  EXPECT_EQ(lost->at("MESSAGE").rfind("fragile: lost its lock: VmLck 0 KiB", 0), 0u);
  EXPECT_EQ(lost->at("PRIORITY"), "4");
  EXPECT_EQ(lost->at("CHILD"), "fragile");
  EXPECT_EQ(lost->at("MESSAGE_ID"), kLockLostId);
  EXPECT_EQ(lost->at("SYSLOG_IDENTIFIER"), "mlock-supervisor");
  // Nothing of it went to stderr: the journal is where the log goes.
  EXPECT_EQ(h.log_text().find("lost its lock"), std::string::npos);
}

TEST(Journal, AFailedStartCarriesTheStartFailedId) {
  Harness h;
  JournalSocket journal(h.path("journal"));
  Harness::Launch launch;
  launch.extra_environment = {journal.environment()};
  h.start(launch);
  ASSERT_TRUE(h.wait_for_status("0/0 children locked"));
  // Its start line (or, had the start-up burst outrun us, the count of what was dropped):
  // the queue is read empty, so the reload's few entries all fit.
  h.wait_until([&] {
    for (const Fields& f : journal.read())
      if (f.count("MESSAGE") && (f.at("MESSAGE").find("mlock-supervisor ") != std::string::npos ||
                                 f.at("MESSAGE").find(" entries dropped ") != std::string::npos))
        return true;
    return false;
  });

  Json ghost = unlocked_child({}, "exec");
  ghost["exec"] = {"/nonexistent/prog"};
  ghost["restart"] = "no";
  h.config["children"]["ghost"] = ghost;
  h.write_config();
  h.send_signal(SIGHUP);
  const auto failed = journal.wait_for(h, "ghost: failed to start");
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->at("MESSAGE"),
            "ghost: failed to start: exec /nonexistent/prog: No such file or directory");
  EXPECT_EQ(failed->at("PRIORITY"), "3");
  EXPECT_EQ(failed->at("CHILD"), "ghost");
  EXPECT_EQ(failed->at("MESSAGE_ID"), kStartFailedId);
  // A line about no child has neither field.
  const auto reload = journal.wait_for(h, "reloading configuration");
  ASSERT_TRUE(reload);
  EXPECT_EQ(reload->count("CHILD"), 0u);
  EXPECT_EQ(reload->count("MESSAGE_ID"), 0u);
  EXPECT_EQ(reload->at("PRIORITY"), "5");
}

}  // namespace
}  // namespace duende::itest
