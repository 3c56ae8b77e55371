// ramswap: a RAM-backed swap device (FUSE + loop device) served from locked memory.
// The reference swap-critical daemon of mlock-supervisor; see --help.
#include <cstdio>

#include "options.hpp"
#include "ramswap.hpp"

namespace {

constexpr int kExitUsage = 64;   // EX_USAGE
constexpr int kExitOsErr = 71;   // EX_OSERR: as mlock-supervisor, a required lock failed
constexpr int kExitFailure = 1;  // any other start failure

}  // namespace

int main(int argc, char** argv) {
  const auto options = ramswap::parse_options(argc, argv);
  if (!options) {
    std::fprintf(stderr, "ramswap: %s\n", options.error().c_str());
    return kExitUsage;
  }
  if (options->help) {
    std::fputs(ramswap::kUsage, stdout);
    return 0;
  }
  if (options->version) {
    std::printf("ramswap (mlock-supervisor) %s\n", RAMSWAP_VERSION);
    return 0;
  }
  const auto ran = ramswap::run(*options);
  if (ran) return 0;
  std::fprintf(stderr, "ramswap: %s\n", ran.error().message.c_str());
  return ran.error().kind == ramswap::Failure::Kind::Lock ? kExitOsErr : kExitFailure;
}
