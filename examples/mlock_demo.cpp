// mlock-demo: locks itself with libduende-mlock, maps and touches some memory, and
// prints what the kernel says. Also a well-behaved supervised child: it reports its lock
// to $NOTIFY_SOCKET (when asked by DUENDE_MLOCK_REPORT=1) and then runs until SIGTERM.
//
//   mlock-demo [--touch-mib N] [--once]
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "duende/mlock.hpp"

namespace {

volatile sig_atomic_t g_stop = 0;

void print_state(const char* when) {
  std::printf("%-14s VmLck %llu KiB\n", when,
              static_cast<unsigned long long>(duende::mlock::locked_bytes() / 1024));
}

}  // namespace

int main(int argc, char** argv) {
  long touch_mib = 16;
  bool once = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--touch-mib" && i + 1 < argc)
      touch_mib = std::strtol(argv[++i], nullptr, 10);
    else if (arg == "--once")
      once = true;
    else {
      std::fprintf(stderr, "usage: mlock-demo [--touch-mib N] [--once]\n");
      return 2;
    }
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  print_state("before lock:");
  const auto status = duende::mlock::lock_all();
  if (!status) {
    std::fprintf(stderr, "mlock-demo: %s\n", status.error().message().c_str());
    return 71;
  }
  std::printf("lock_all():    %s\n", status->to_string().c_str());
  const std::size_t size = static_cast<std::size_t>(touch_mib) << 20;
  if (size > 0) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      std::perror("mlock-demo: mmap");
      return 1;
    }
    std::memset(p, 0xa5, size);
  }
  std::printf("after %3ld MiB: VmLck %llu KiB\n", touch_mib,
              static_cast<unsigned long long>(duende::mlock::locked_bytes() / 1024));
  if (once) return 0;
  signal(SIGTERM, [](int) { g_stop = 1; });
  signal(SIGINT, [](int) { g_stop = 1; });
  while (!g_stop) pause();
  return 0;
}
