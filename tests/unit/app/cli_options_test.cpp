// parse_options: every option of mlock-supervisor, and the usage errors (exit 64).
#include "app/cli_options.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace duende::supervisor {
namespace {

Options parsed(const std::vector<std::string>& args) {
  auto o = parse_options(args);
  EXPECT_TRUE(o.has_value()) << o.error();
  return o ? *o : Options{};
}

std::string refused(const std::vector<std::string>& args) {
  auto o = parse_options(args);
  EXPECT_FALSE(o.has_value());
  return o ? "" : o.error();
}

TEST(ParseOptions, DefaultsToTheInstalledPaths) {
  const Options o = parsed({});
  EXPECT_EQ(o.sources.main_file, kDefaultMainConfigFile);
  EXPECT_FALSE(o.sources.main_file_explicit);
  EXPECT_EQ(o.sources.dropin_dirs, std::vector<std::string>{kDefaultDropinDir});
  EXPECT_FALSE(o.sources.check_ownership);  // the daemon decides, by its euid
  EXPECT_EQ(o.preload_path, MLOCK_PRELOAD_INSTALLED);
  EXPECT_FALSE(o.check_config);
  EXPECT_FALSE(o.show_help);
  EXPECT_FALSE(o.show_version);
}

TEST(ParseOptions, ConfigMakesTheMainFileExplicit) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--config", "/etc/x.json"},
                                                                {"--config=/etc/x.json"}}) {
    const Options o = parsed(args);
    EXPECT_EQ(o.sources.main_file, "/etc/x.json");
    EXPECT_TRUE(o.sources.main_file_explicit);
    EXPECT_EQ(o.sources.dropin_dirs, std::vector<std::string>{kDefaultDropinDir});
  }
}

TEST(ParseOptions, ConfigDirIsRepeatableAndReplacesTheDefault) {
  EXPECT_EQ(parsed({"--config-dir", "/a"}).sources.dropin_dirs, std::vector<std::string>{"/a"});
  EXPECT_EQ(
      parsed({"--config-dir", "/a", "--config-dir=/b", "--config-dir", "/c"}).sources.dropin_dirs,
      (std::vector<std::string>{"/a", "/b", "/c"}));
}

TEST(ParseOptions, PreloadSetsTheShimPath) {
  EXPECT_EQ(parsed({"--preload", "/x/libshim.so"}).preload_path, "/x/libshim.so");
  EXPECT_EQ(parsed({"--preload=/y/libshim.so"}).preload_path, "/y/libshim.so");
}

TEST(ParseOptions, FlagsSetTheirModes) {
  EXPECT_TRUE(parsed({"--check-config"}).check_config);
  EXPECT_TRUE(parsed({"--version"}).show_version);
  EXPECT_TRUE(parsed({"--help"}).show_help);
  EXPECT_TRUE(parsed({"-h"}).show_help);
}

TEST(ParseOptions, CombinesEverything) {
  const Options o = parsed({"--check-config", "--config", "/m.json", "--config-dir", "/d1",
                            "--preload", "/p.so", "--config-dir=/d2"});
  EXPECT_TRUE(o.check_config);
  EXPECT_EQ(o.sources.main_file, "/m.json");
  EXPECT_TRUE(o.sources.main_file_explicit);
  EXPECT_EQ(o.sources.dropin_dirs, (std::vector<std::string>{"/d1", "/d2"}));
  EXPECT_EQ(o.preload_path, "/p.so");
}

struct Bad {
  std::vector<std::string> args;
  std::string error;
};

class ParseOptionsRefuses : public testing::TestWithParam<Bad> {};

TEST_P(ParseOptionsRefuses, NamingTheArgument) {
  EXPECT_EQ(refused(GetParam().args), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    ParseOptions, ParseOptionsRefuses,
    testing::Values(Bad{{"--bogus"}, "unknown argument \"--bogus\" (see --help)"},
                    Bad{{"-x"}, "unknown argument \"-x\" (see --help)"},
                    Bad{{"config.json"}, "unknown argument \"config.json\" (see --help)"},
                    Bad{{"--version", "extra"}, "unknown argument \"extra\" (see --help)"},
                    Bad{{"--config"}, "--config needs a value"},
                    Bad{{"--config-dir"}, "--config-dir needs a value"},
                    Bad{{"--preload"}, "--preload needs a value"},
                    Bad{{"--config="}, "--config=: empty value"},
                    Bad{{"--config", ""}, "--config: empty value"},
                    Bad{{"--config-dir="}, "--config-dir=: empty value"},
                    Bad{{"--preload", ""}, "--preload: empty value"},
                    Bad{{"--check-config=yes"},
                        "unknown argument \"--check-config=yes\" (see --help)"}));

TEST(HelpText, MentionsEveryOption) {
  const std::string help = help_text();
  for (const char* option : {"--config FILE", "--config-dir DIR", "--check-config",
                             "--preload PATH", "--version", "-h, --help"})
    EXPECT_NE(help.find(option), std::string::npos) << option;
  EXPECT_NE(help.find(MLOCK_PRELOAD_INSTALLED), std::string::npos);
}

}  // namespace
}  // namespace duende::supervisor
