// test-child: a supervised program that acts out what an integration test needs.
//
//   test-child [--write-pid FILE] [--print-env FILE] [--touch-mib N] [--lock]
//              [--send-text TEXT]... [--send-oversized] [--ready]
//              [--ready-when GATE] [--lock-when GATE] [--unlock-when GATE]
//              [--munlock-touched-when GATE]
//              [--unlock-after-ms N] [--exit-after-ms N] [--exit-code C] [--crash]
//              [--ignore-term] [--sleep-forever]
//              [--double-fork] [--fork-unlocked] [--fork-helper PIDFILE]
//              [--exec-helper PIDFILE]
//
// --double-fork, first of all, daemonizes as a classic daemon does: it forks, the parent
// exits 0, the child calls setsid() and forks again and exits 0, and the grandchild goes on
// with everything below. After the lock step, --fork-unlocked forks a helper that calls
// munlockall() and waits for SIGTERM, --fork-helper forks one that writes its pid to
// PIDFILE and waits for SIGTERM (locked or not as the fork left it), and --exec-helper forks a
// helper that execs this program again with --lock --write-pid PIDFILE (it reports its own lock).
//
// Steps run in this order: write the pid file, print the environment, map and touch
// memory, lock through libduende-mlock (which sends the lock report when asked by
// DUENDE_MLOCK_REPORT=1), send each --send-text datagram, send the oversized one, send
// READY=1 (--ready). Then it waits for its gates and timers: a GATE is a file that opens
// once it exists and is empty or holds this process's pid (so a test can open it for one
// process of a child that restarts). --ready-when sends READY=1, --lock-when locks,
// --unlock-when and --unlock-after-ms call munlockall(), --munlock-touched-when munlock()s
// only the --touch-mib region (VmLck stays above 0: a partial unlock); at --exit-after-ms it exits
// with
// --exit-code (or aborts with --crash). With --crash and no --exit-after-ms it aborts at
// once. SIGTERM ends it with status 0 unless --ignore-term. Without an exit time it runs
// until SIGTERM (--sleep-forever says so explicitly).
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "duende/mlock.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

volatile sig_atomic_t g_terminate = 0;

struct Options {
  std::string write_pid;
  std::string print_env;
  long touch_mib = 0;
  bool lock = false;
  std::vector<std::string> send_texts;
  bool send_oversized = false;
  bool ready = false;
  std::string ready_when;
  std::string lock_when;
  std::string unlock_when;
  std::string munlock_touched_when;
  std::optional<long> unlock_after_ms;
  std::optional<long> exit_after_ms;
  int exit_code = 0;
  std::string flood_when;   // once this gate opens, send lock reports as fast as it can
  std::string flood_count;  // where to write how many reports were sent, now and then
  bool crash = false;
  bool ignore_term = false;
  bool double_fork = false;
  bool fork_unlocked = false;
  std::string exec_helper;  // the helper's pid file
  std::string fork_helper;  // the helper's pid file
};

[[noreturn]] void usage(const char* bad) {
  std::fprintf(stderr, "test-child: bad argument \"%s\"\n", bad);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(argv[i]);
      return argv[++i];
    };
    if (a == "--write-pid")
      o.write_pid = value();
    else if (a == "--print-env")
      o.print_env = value();
    else if (a == "--touch-mib")
      o.touch_mib = std::strtol(value(), nullptr, 10);
    else if (a == "--lock")
      o.lock = true;
    else if (a == "--send-text")
      o.send_texts.emplace_back(value());
    else if (a == "--send-oversized")
      o.send_oversized = true;
    else if (a == "--ready")
      o.ready = true;
    else if (a == "--ready-when")
      o.ready_when = value();
    else if (a == "--lock-when")
      o.lock_when = value();
    else if (a == "--unlock-when")
      o.unlock_when = value();
    else if (a == "--munlock-touched-when")
      o.munlock_touched_when = value();
    else if (a == "--unlock-after-ms")
      o.unlock_after_ms = std::strtol(value(), nullptr, 10);
    else if (a == "--exit-after-ms")
      o.exit_after_ms = std::strtol(value(), nullptr, 10);
    else if (a == "--exit-code")
      o.exit_code = static_cast<int>(std::strtol(value(), nullptr, 10));
    else if (a == "--flood-when")
      o.flood_when = value();
    else if (a == "--flood-count")
      o.flood_count = value();
    else if (a == "--crash")
      o.crash = true;
    else if (a == "--ignore-term")
      o.ignore_term = true;
    else if (a == "--double-fork")
      o.double_fork = true;
    else if (a == "--fork-unlocked")
      o.fork_unlocked = true;
    else if (a == "--fork-helper")
      o.fork_helper = value();
    else if (a == "--exec-helper")
      o.exec_helper = value();
    else if (a != "--sleep-forever")
      usage(argv[i]);
  }
  return o;
}

// Writes `text` to `path` through a temporary file and rename(), so a reader never sees
// it half written.
void write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
  }
  std::rename(tmp.c_str(), path.c_str());
}

// Sends one datagram to $NOTIFY_SOCKET, as sd_notify() does.
void notify(const std::string& text) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || !*path) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + std::strlen(path));
  if (sendto(fd, text.data(), text.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), len) <
      0)
    std::perror("test-child: sendto NOTIFY_SOCKET");
  close(fd);
}

void* g_touched = nullptr;  // the --touch-mib region
std::size_t g_touched_size = 0;

void touch_memory(long mib) {
  const std::size_t size = static_cast<std::size_t>(mib) << 20;
  void* p = g_touched =
      mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("test-child: mmap");
    std::exit(1);
  }
  std::memset(p, 0x5a, size);
  g_touched_size = size;
}

[[noreturn]] void crash() {
  const rlimit no_core{0, 0};  // no core dump to write: the crash is the point, not the core
  setrlimit(RLIMIT_CORE, &no_core);
  std::abort();
}

// A gate is open once its file exists and is empty or names this process.
bool gate_open(const std::string& path) {
  std::ifstream in(path);
  if (!in) return false;
  std::string text;
  std::getline(in, text);
  return text.empty() || text == std::to_string(getpid());
}

void lock_or_exit() {
  const auto status = duende::mlock::lock_all();
  if (!status) {
    std::fprintf(stderr, "test-child: %s\n", status.error().message().c_str());
    std::exit(71);
  }
}

void unlock() {
  if (auto r = duende::mlock::unlock_all(); !r)
    std::fprintf(stderr, "test-child: %s\n", r.error().message().c_str());
}

void sleep_ms(long ms) {
  const timespec ts{ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&ts, nullptr);  // a signal may cut it short: the caller loops
}

void double_fork() {
  if (const pid_t pid = fork(); pid != 0) _exit(pid < 0 ? 1 : 0);
  setsid();
  if (const pid_t pid = fork(); pid != 0) _exit(pid < 0 ? 1 : 0);
}

void fork_unlocked_helper() {
  if (fork() != 0) return;
  munlockall();
  while (!g_terminate) sleep_ms(20);
  _exit(0);
}

void fork_helper(const std::string& pid_file) {
  if (fork() != 0) return;
  write_file(pid_file, std::to_string(getpid()) + "\n");
  while (!g_terminate) sleep_ms(20);
  _exit(0);
}

void exec_helper(const char* self, const std::string& pid_file) {
  if (fork() != 0) return;
  const char* argv[] = {self, "--lock", "--write-pid", pid_file.c_str(), nullptr};
  execve("/proc/self/exe", const_cast<char**>(argv), environ);
  _exit(127);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  if (o.double_fork) double_fork();
  const auto started = Clock::now();
  if (o.ignore_term)
    signal(SIGTERM, SIG_IGN);
  else
    signal(SIGTERM, [](int) { g_terminate = 1; });

  if (!o.write_pid.empty()) write_file(o.write_pid, std::to_string(getpid()) + "\n");
  if (!o.print_env.empty()) {
    std::string text;
    for (char** e = environ; *e; ++e) text += std::string(*e) + "\n";
    write_file(o.print_env, text);
  }
  if (o.touch_mib > 0) touch_memory(o.touch_mib);
  if (o.lock) lock_or_exit();
  if (o.fork_unlocked) fork_unlocked_helper();
  if (!o.exec_helper.empty()) exec_helper(argv[0], o.exec_helper);
  if (!o.fork_helper.empty()) fork_helper(o.fork_helper);
  for (const std::string& text : o.send_texts) notify(text);
  if (o.send_oversized) notify("STATUS=" + std::string(8192, 'x'));
  if (o.ready) notify("READY=1");
  if (o.crash && !o.exit_after_ms) crash();

  bool ready_sent = o.ready_when.empty();
  bool locked = o.lock_when.empty();
  bool unlocked = o.unlock_when.empty();
  bool munlocked_touched = o.munlock_touched_when.empty();
  bool unlocked_by_time = !o.unlock_after_ms;
  const auto elapsed_ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  };
  while (!g_terminate) {
    if (!o.flood_when.empty() && gate_open(o.flood_when)) {
      // A flood of genuine lock reports (never waiting for room): what a buggy or hostile
      // child can do to the supervisor's notify socket.
      const std::string report = duende::mlock::format_lock_report(
          duende::mlock::MlockStatus::locked(duende::mlock::locked_bytes()));
      unsigned long sent = 0;
      while (!g_terminate) {
        if (duende::mlock::notify_send(report, 0) == 0 && ++sent % 2048 == 0 &&
            !o.flood_count.empty())
          write_file(o.flood_count, std::to_string(sent) + "\n");
      }
      return 0;
    }
    if (!ready_sent && gate_open(o.ready_when)) {
      notify("READY=1");
      ready_sent = true;
    }
    if (!locked && gate_open(o.lock_when)) {
      lock_or_exit();
      locked = true;
    }
    if (!unlocked && gate_open(o.unlock_when)) {
      unlock();
      unlocked = true;
    }
    if (!munlocked_touched && gate_open(o.munlock_touched_when)) {
      if (g_touched && munlock(g_touched, g_touched_size) != 0) std::perror("test-child: munlock");
      munlocked_touched = true;
    }
    if (!unlocked_by_time && elapsed_ms() >= *o.unlock_after_ms) {
      unlock();
      unlocked_by_time = true;
    }
    if (o.exit_after_ms && elapsed_ms() >= *o.exit_after_ms) {
      if (o.crash) crash();
      return o.exit_code;
    }
    sleep_ms(5);
  }
  return 0;
}
