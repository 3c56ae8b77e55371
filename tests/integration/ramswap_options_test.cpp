// ramswap's pure parts, in-process: its command line, /proc/swaps names, its datagrams.
// No privileges needed; these run in every build.
#include <gtest/gtest.h>

#include "loop_device.hpp"
#include "options.hpp"
#include "ready_report.hpp"

namespace ramswap {
namespace {

duende::mlock::Result<Options, std::string> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "ramswap");
  return parse_options(static_cast<int>(args.size()), args.data());
}

TEST(RamswapParseSize, ReadsBinarySuffixes) {
  EXPECT_EQ(parse_size("4096"), 4096u);
  EXPECT_EQ(parse_size("64K"), 64u << 10);
  EXPECT_EQ(parse_size("128M"), 128u << 20);
  EXPECT_EQ(parse_size("128MiB"), 128u << 20);
  EXPECT_EQ(parse_size("2g"), std::uint64_t{2} << 30);
  EXPECT_EQ(parse_size("1T"), std::uint64_t{1} << 40);
}

TEST(RamswapParseSize, RejectsMalformedAndOverflowingSizes) {
  for (const char* bad : {"", "M", "12X", "12MB", "-1M", "1.5G", "99999999999T", " 1M"})
    EXPECT_EQ(parse_size(bad), std::nullopt) << bad;
}

TEST(RamswapParseOptions, TakesBothSpellingsAndDefaults) {
  const auto options = parse({"--mount", "/run/rs", "--size=64M"});
  ASSERT_TRUE(options) << options.error();
  EXPECT_EQ(options->mount_dir, "/run/rs");
  EXPECT_EQ(options->size_bytes, 64u << 20);
  EXPECT_EQ(options->loop, "auto");
  const auto with_loop = parse({"--mount=/m", "--loop", "/dev/loop12"});
  ASSERT_TRUE(with_loop);
  EXPECT_EQ(with_loop->loop, "/dev/loop12");
  EXPECT_EQ(with_loop->size_bytes, 128u << 20);
}

TEST(RamswapParseOptions, NamesTheOffendingArgument) {
  const std::pair<std::vector<const char*>, std::string> cases[] = {
      {{}, "--mount DIR is required (see --help)"},
      {{"--mount"}, "--mount: needs a value"},
      {{"--mount", "/m", "--size", "1000"}, "--size \"1000\": not a multiple of 4 KiB"},
      {{"--mount", "/m", "--size", "512K"}, "--size \"512K\": below the minimum of 1 MiB"},
      {{"--mount", "/m", "--size", "lots"},
       "--size \"lots\": use a number with K, M, G or T (KiB, MiB, ...)"},
      {{"--mount", "/m", "--loop", "/dev/sda"}, "--loop \"/dev/sda\": use auto or /dev/loopN"},
      {{"--mount", "/m", "--loop", "/dev/loop"}, "--loop \"/dev/loop\": use auto or /dev/loopN"},
      {{"--mount", "/m", "-v"}, "unknown option \"-v\" (see --help)"},
  };
  for (const auto& [args, message] : cases) {
    const auto options = parse(args);
    ASSERT_FALSE(options) << message;
    EXPECT_EQ(options.error(), message);
  }
}

TEST(RamswapParseOptions, HelpNeedsNoMount) {
  const auto options = parse({"--help"});
  ASSERT_TRUE(options);
  EXPECT_TRUE(options->help);
}

TEST(RamswapSwapAreaNames, ReadsTheFilenameColumnWithEscapes) {
  const char text[] =
      "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
      "/dev/loop7                              partition\t65532\t\t0\t\t-2\n"
      "/swap\\040file                           file\t\t1024\t\t0\t\t-3\n";
  EXPECT_EQ(swap_area_names(text), (std::vector<std::string>{"/dev/loop7", "/swap file"}));
  EXPECT_TRUE(swap_area_names("Filename Type Size Used Priority\n").empty());
  EXPECT_TRUE(swap_area_names("").empty());
}

TEST(RamswapReadyReport, NamesTheDeviceAndTheSize) {
  EXPECT_EQ(ready_message("/dev/loop7", 128u << 20),
            "READY=1\nSTATUS=serving 128 MiB on /dev/loop7\nX_DUENDE_SWAP_DEVICE=/dev/loop7\n");
  EXPECT_EQ(refused_stop_message("/dev/loop7"),
            "STATUS=refusing to stop: swap is still on /dev/loop7 (swapoff first)\n");
  EXPECT_EQ(format_size(1540u << 10), "1540 KiB");
}

}  // namespace
}  // namespace ramswap
