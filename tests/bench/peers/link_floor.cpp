// The floor of a locked supervisor's own VmLck: a program that links what mlock-supervisor
// links (sdbus-c++, libsystemd, libduende-mlock, libstdc++), touches each so none is
// dropped as unneeded, calls mlockall(MCL_CURRENT | MCL_FUTURE) and prints its VmLck,
// VmRSS and Threads in kB from /proc/self/status: "VmLck N VmRSS N Threads N".
// Whatever the daemon pins above this is its own doing (heap, buffers, per-child state).
#include <sdbus-c++/sdbus-c++.h>
#include <sys/mman.h>
#include <systemd/sd-daemon.h>

#include <cstdio>
#include <cstring>
#include <duende/mlock.hpp>
#include <fstream>
#include <string>

int main() {
  // References, not calls with effects: each library must be a dependency at run time.
  volatile auto keep_sdbus =
      static_cast<std::unique_ptr<sdbus::IConnection> (*)()>(&sdbus::createSystemBusConnection);
  volatile auto keep_systemd = &sd_notify;
  volatile auto keep_mlock = &duende::mlock::is_locked;
  (void)keep_sdbus;
  (void)keep_systemd;
  (void)keep_mlock;
  if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
    std::perror("link-floor: mlockall");
    return 1;
  }
  std::ifstream status("/proc/self/status");
  std::string line, out;
  for (const char* key : {"VmLck:", "VmRSS:", "Threads:"}) {
    status.clear();
    status.seekg(0);
    while (std::getline(status, line))
      if (line.rfind(key, 0) == 0)
        out += std::string(key, std::strlen(key) - 1) + " " +
               std::to_string(std::stol(line.substr(std::strlen(key)))) + " ";
  }
  std::printf("%s\n", out.c_str());
  return 0;
}
