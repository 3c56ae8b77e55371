#include "polkit_mock.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace duende::itest {
namespace {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;
constexpr const char* kPolkitPath = "/org/freedesktop/PolicyKit1/Authority";
constexpr const char* kMockInterface = "org.freedesktop.DBus.Mock";

}  // namespace

// Debian's python3, whatever else PATH holds: python3-dbusmock is installed for it.
std::string system_python() { return find_program("python3"); }

bool dbusmock_available() {
  const std::string python = system_python();
  return !python.empty() &&
         std::system((python + " -c 'import dbusmock' 2>/dev/null").c_str()) == 0;
}

PolkitMock::PolkitMock(const std::string& address, const std::string& output) {
  program_ = std::make_unique<BackgroundProgram>(
      std::vector<std::string>{system_python(), "-m", "dbusmock", "--system", "--template",
                               "polkitd"},
      client_environment(address), output);
  const auto end = Clock::now() + kDeadline;
  while (!name_owned(address, kPolkitName)) {
    if (Clock::now() > end)
      throw std::runtime_error("the polkitd mock never owned " + std::string(kPolkitName) + ": " +
                               program_->output());
    std::this_thread::sleep_for(Ms(20));
  }
  connection_ = connect_bus(address);
  proxy_ = sdbus::createProxy(*connection_, kPolkitName, kPolkitPath);
}

PolkitMock::~PolkitMock() {
  proxy_.reset();
  connection_.reset();
  program_.reset();  // SIGTERM, then SIGKILL
}

sdbus::IProxy& PolkitMock::proxy() { return *proxy_; }

void PolkitMock::set_allowed(const std::vector<std::string>& actions) {
  proxy().callMethod("SetAllowed").onInterface(kMockInterface).withArguments(actions);
}

void PolkitMock::hang(bool on) {
  proxy().callMethod("SimulateHang").onInterface(kMockInterface).withArguments(on);
}

void PolkitMock::release() {
  proxy().callMethod("ReleaseHangingCalls").onInterface(kMockInterface);
}

void PolkitMock::challenge() {
  proxy()
      .callMethod("AddMethod")
      .onInterface(kMockInterface)
      .withArguments(std::string(""), std::string("CheckAuthorization"),
                     std::string("(sa{sv})sa{ss}us"), std::string("(bba{ss})"),
                     std::string("ret = (False, True, {})"));
}

namespace {

using LoggedCalls = std::vector<sdbus::Struct<std::uint64_t, std::vector<sdbus::Variant>>>;

LoggedCalls logged_checks(sdbus::IProxy& proxy) {
  LoggedCalls calls;
  proxy.callMethod("GetMethodCalls")
      .onInterface(kMockInterface)
      .withArguments(std::string("CheckAuthorization"))
      .storeResultsTo(calls);
  return calls;
}

}  // namespace

int PolkitMock::checks() { return static_cast<int>(logged_checks(proxy()).size()); }

std::vector<std::uint32_t> PolkitMock::check_flags() {
  std::vector<std::uint32_t> out;
  for (const auto& call : logged_checks(proxy())) {
    const auto& args = std::get<1>(call);
    out.push_back(args.size() > 3 && args[3].containsValueOfType<std::uint32_t>()
                      ? args[3].get<std::uint32_t>()
                      : 999);
  }
  return out;
}

// ---- UnprivilegedCalls ----

namespace {

struct Replies {
  std::vector<std::string> names;
  int answered = 0;
};

[[noreturn]] void call_as_nobody(const std::string& address, int n, const std::string& method,
                                 const std::string& child, int out) {
  sd_bus* bus = connect_as_nobody(address);
  static Replies replies;  // static: the callbacks get an index, not a pointer to a local
  replies.names.assign(static_cast<std::size_t>(n), "(no reply)");
  for (int i = 0; i < n; ++i) {
    sd_bus_message* m = nullptr;
    if (sd_bus_message_new_method_call(bus, &m, kBusName, kManagerPath, kManagerInterface,
                                       method.c_str()) < 0 ||
        sd_bus_message_append(m, "s", child.c_str()) < 0)
      _exit(5);
    const auto on_reply = [](sd_bus_message* reply, void* data, sd_bus_error*) -> int {
      const auto i = reinterpret_cast<std::intptr_t>(data);
      const sd_bus_error* e = sd_bus_message_get_error(reply);
      replies.names[static_cast<std::size_t>(i)] = e && e->name ? e->name : "";
      ++replies.answered;
      return 0;
    };
    if (sd_bus_call_async(bus, nullptr, m, on_reply, reinterpret_cast<void*>(std::intptr_t{i}),
                          60'000'000) < 0)
      _exit(6);
    sd_bus_message_unref(m);
  }
  const auto end = Clock::now() + std::chrono::seconds(60);
  while (replies.answered < n && Clock::now() < end) {
    if (sd_bus_process(bus, nullptr) > 0) continue;
    sd_bus_wait(bus, 100'000);
  }
  std::string text;
  for (const auto& name : replies.names) text += name + "\n";
  if (::write(out, text.data(), text.size()) < 0) _exit(7);
  _exit(0);
}

}  // namespace

UnprivilegedCalls::UnprivilegedCalls(const std::string& address, int n, const std::string& method,
                                     const std::string& child)
    : n_(n) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  std::fflush(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::close(fds[0]);
    call_as_nobody(address, n, method, child, fds[1]);
  }
  ::close(fds[1]);
  out_ = fds[0];
}

UnprivilegedCalls::~UnprivilegedCalls() {
  leave();
  if (out_ >= 0) ::close(out_);
}

void UnprivilegedCalls::leave() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = 0;
}

std::vector<std::string> UnprivilegedCalls::results() {
  std::string text;
  const auto end = Clock::now() + kDeadline;
  while (Clock::now() < end) {
    pollfd p{out_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    const ssize_t got = ::read(out_, buf, sizeof buf);
    if (got <= 0) break;
    text.append(buf, static_cast<std::size_t>(got));
  }
  leave();  // it has written everything and exited, or the deadline passed
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
    out.push_back(text.substr(start, nl - start));
  if (static_cast<int>(out.size()) != n_) ADD_FAILURE() << "replies: " << text;
  return out;
}

}  // namespace duende::itest
