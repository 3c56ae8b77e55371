// A swap FILE a test makes, for the swap lifecycle tests: swap is host-wide, so only this
// file is ever turned on or off by them. Turned off (if still on) and removed at the end,
// on every path.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <string>

#include "privilege.hpp"
#include "supervisor_harness.hpp"

namespace duende::itest {

// /proc/swaps' line for `path` ("" when it is not on). Paths made here have no spaces.
inline std::string swaps_line(const std::string& path) {
  std::ifstream in("/proc/swaps");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(path + " ", 0) == 0) return line;
  return "";
}

// A 16 MiB file of zeros (no holes: swapon refuses those), removed at the end; turned off
// first if it is still on, on every path.
class SwapFile {
 public:
  SwapFile() {
    char tmpl[] = "/var/tmp/mlock-swap-test.XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
    dir_ = tmpl;
    path_ = dir_ + "/swapfile";
    std::ofstream out(path_, std::ios::binary);
    const std::string mib(1 << 20, '\0');
    for (int i = 0; i < 16; ++i) out << mib;
    out.close();
    ::chmod(path_.c_str(), 0600);
  }
  ~SwapFile() {
    if (!swaps_line(path_).empty()) ::swapoff(path_.c_str());
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
};

// A locked child (it does not really serve the file) whose "swap" is `device`, with mkswap
// and priority 7.
inline Json swap_backend(const std::string& device) {
  Json c = test_child({"--touch-mib", "1", "--lock"});
  c["swap"] = {{"device", device}, {"mkswap", true}, {"priority", 7}};
  return c;
}

}  // namespace duende::itest

// Skips unless this test can lock (root, no sanitizer) and util-linux's swapon is there.
#define DUENDE_REQUIRE_SWAP() \
  DUENDE_REQUIRE_LOCKING();   \
  if (::access("/sbin/swapon", X_OK) != 0) GTEST_SKIP() << "no /sbin/swapon"
