// ramswap's command line: what to serve, where, and on which loop device.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "duende/result.hpp"

namespace ramswap {

struct Options {
  std::uint64_t size_bytes = std::uint64_t{128} << 20;  // --size
  std::string mount_dir;                                // --mount (required)
  std::string loop = "auto";                            // --loop: "auto" or /dev/loopN
  bool help = false;                                    // --help: print kUsage, exit 0
  bool version = false;                                 // --version
};

// The image is served in whole pages and the loop device uses 4 KiB logical blocks, so
// sizes are multiples of 4 KiB; below 1 MiB a swap area is too small to be worth it.
inline constexpr std::uint64_t kBlockSize = 4096;
inline constexpr std::uint64_t kMinSize = std::uint64_t{1} << 20;

// The --help text, written as a man page's sections.
extern const char kUsage[];

// Parses argv (GNU style: "--size 64M" or "--size=64M"). On error, one line naming the
// offending argument, e.g. `--size "12X": use a number with K, M, G or T (KiB, MiB, ...)`.
duende::mlock::Result<Options, std::string> parse_options(int argc, const char* const* argv);

// "128M", "1G", "65536", "64MiB" -> bytes (binary units). nullopt when malformed or
// overflowing. Pure.
std::optional<std::uint64_t> parse_size(std::string_view text);

// 134217728 -> "128 MiB"; sizes that are not whole MiB in KiB ("1540 KiB").
std::string format_size(std::uint64_t bytes);

}  // namespace ramswap
