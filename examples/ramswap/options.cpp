// Command-line parsing for ramswap. Hand-written: three options do not need getopt_long's
// global state, and parse_options() stays a pure function that tests can call.
#include "options.hpp"

#include <cctype>
#include <charconv>
#include <limits>

namespace ramswap {

using duende::mlock::Result;
using duende::mlock::Unexpected;

const char kUsage[] = R"(NAME
    ramswap - a RAM-backed swap device served from locked memory (reference daemon)

SYNOPSIS
    ramswap --mount DIR [--size SIZE] [--loop auto|/dev/loopN]
    ramswap --help | --version

DESCRIPTION
    ramswap keeps a block image of SIZE bytes in its own memory, locked with
    libduende-mlock (mlockall of current and future pages, populated at start, required),
    serves it as the file DIR/image through FUSE with direct I/O (no page cache), and
    attaches a loop device with direct I/O to that file. The loop device can then be used
    as swap (mkswap, swapon). It is the reference swap-critical daemon of mlock-supervisor:
    a userspace block device whose own pages must never be swapped out.

    When ready it prints the device (e.g. /dev/loop7) on one line on stdout and sends
    READY=1, X_DUENDE_SWAP_DEVICE=/dev/loop7 and a STATUS line to $NOTIFY_SOCKET.

    On SIGTERM or SIGINT it first reads /proc/swaps: while swap is on its device it
    refuses to stop (it logs "swap is still on /dev/loopN: swapoff first" and keeps
    serving; a swap device pulled from under the kernel loses the pages in it). Otherwise
    it detaches the loop device, unmounts DIR and exits 0.

    It also asks for PR_SET_IO_FLUSHER (best effort: it needs CAP_SYS_RESOURCE, and
    ramswap says so and goes on without it). It runs as root (mounting, loop devices).

OPTIONS
    --mount DIR
        An existing directory to mount the image file system on; the image is DIR/image.
        Required.
    --size SIZE
        Size of the image: a number of bytes with an optional binary suffix K, M, G or T
        (also KiB, MiB, GiB, TiB), a multiple of 4 KiB, at least 1M. Default 128M. All of
        it is allocated and locked at start.
    --loop auto|/dev/loopN
        The loop device to attach: auto (default) takes a free one from
        /dev/loop-control; /dev/loopN must exist and be unused.
    --help
        Print this text and exit.
    --version
        Print the version and exit.

ENVIRONMENT
    NOTIFY_SOCKET         where the readiness datagram goes (sd_notify format).
    DUENDE_MLOCK_REPORT=1 also send the library's lock report there. The other
                          DUENDE_MLOCK_* flags are ignored: this lock is not optional.

EXIT STATUS
    0 stopped cleanly; 64 bad command line; 71 the memory lock failed; 1 any other start
    failure (no /dev/fuse, mount refused, no free loop device), after undoing what was
    already set up.

EXAMPLE
    In bash, as root:
        mkdir -p /run/ramswap
        coproc ramswap --mount /run/ramswap --size 256M
        read -r dev <&"${COPROC[0]}"     # /dev/loopN, once it is ready
        mkswap "$dev" && swapon "$dev"
        ...
        swapoff "$dev" && kill "$COPROC_PID"
)";

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::uint64_t number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  std::string_view suffix(end, text.data() + text.size() - end);
  if (suffix.size() == 3 && suffix.substr(1) == "iB") suffix = suffix.substr(0, 1);
  int shift = 0;
  if (suffix.empty())
    shift = 0;
  else if (suffix.size() != 1)
    return std::nullopt;
  else if (const char c = static_cast<char>(std::toupper(suffix[0])); c == 'K')
    shift = 10;
  else if (c == 'M')
    shift = 20;
  else if (c == 'G')
    shift = 30;
  else if (c == 'T')
    shift = 40;
  else
    return std::nullopt;
  if (number > (std::numeric_limits<std::uint64_t>::max() >> shift)) return std::nullopt;
  return number << shift;
}

std::string format_size(std::uint64_t bytes) {
  if (bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes >> 10) + " KiB";
}

namespace {

Result<void, std::string> set_size(Options& options, std::string_view value) {
  const auto size = parse_size(value);
  const std::string quoted = "--size \"" + std::string(value) + "\": ";
  if (!size) return Unexpected(quoted + "use a number with K, M, G or T (KiB, MiB, ...)");
  if (*size % kBlockSize != 0) return Unexpected(quoted + "not a multiple of 4 KiB");
  if (*size < kMinSize) return Unexpected(quoted + "below the minimum of 1 MiB");
  options.size_bytes = *size;
  return {};
}

Result<void, std::string> set_loop(Options& options, std::string_view value) {
  constexpr std::string_view kPrefix = "/dev/loop";
  const std::string_view digits =
      value.substr(value.rfind(kPrefix, 0) == 0 ? kPrefix.size() : value.size());
  const bool numbered =
      !digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos;
  if (value != "auto" && !numbered)
    return Unexpected("--loop \"" + std::string(value) + "\": use auto or /dev/loopN");
  options.loop = value;
  return {};
}

// Applies one option that takes a value.
Result<void, std::string> set_value(Options& options, std::string_view name,
                                    std::string_view value) {
  if (name == "--size") return set_size(options, value);
  if (name == "--loop") return set_loop(options, value);
  if (value.empty()) return Unexpected(std::string("--mount: needs a directory"));
  options.mount_dir = value;
  return {};
}

}  // namespace

Result<Options, std::string> parse_options(int argc, const char* const* argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h")
      options.help = true;
    else if (arg == "--version")
      options.version = true;
    else {
      const auto eq = arg.find('=');
      const std::string_view name = arg.substr(0, eq);
      if (name != "--size" && name != "--mount" && name != "--loop")
        return Unexpected("unknown option \"" + std::string(arg) + "\" (see --help)");
      if (eq == std::string_view::npos && i + 1 >= argc)
        return Unexpected(std::string(name) + ": needs a value");
      const std::string_view value = eq == std::string_view::npos ? argv[++i] : arg.substr(eq + 1);
      if (auto set = set_value(options, name, value); !set) return Unexpected(set.error());
    }
  }
  if (!options.help && !options.version && options.mount_dir.empty())
    return Unexpected(std::string("--mount DIR is required (see --help)"));
  return options;
}

}  // namespace ramswap
