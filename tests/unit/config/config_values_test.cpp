// The pure value parsers of the configuration: signals, byte sizes, typo suggestions.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <vector>

#include "config/config.hpp"

namespace duende::supervisor {
namespace {

struct SignalCase {
  const char* text;
  int expected;
};

class ParseSignalAccepts : public testing::TestWithParam<SignalCase> {};

TEST_P(ParseSignalAccepts, NamesNumbersAndRealtime) {
  auto parsed = parse_signal(GetParam().text);
  ASSERT_TRUE(parsed.has_value()) << GetParam().text << ": " << parsed.error();
  EXPECT_EQ(*parsed, GetParam().expected) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    ParseSignal, ParseSignalAccepts,
    testing::Values(SignalCase{"SIGTERM", SIGTERM}, SignalCase{"TERM", SIGTERM},
                    SignalCase{"sigterm", SIGTERM}, SignalCase{"SIGINT", SIGINT},
                    SignalCase{"KILL", SIGKILL}, SignalCase{"SIGHUP", SIGHUP},
                    SignalCase{"SIGUSR1", SIGUSR1}, SignalCase{"USR2", SIGUSR2},
                    SignalCase{"SIGQUIT", SIGQUIT}, SignalCase{"SIGIOT", SIGABRT},
                    SignalCase{"15", 15}, SignalCase{"64", 64}, SignalCase{"1", 1},
                    SignalCase{"SIGRTMIN", SIGRTMIN}, SignalCase{"SIGRTMIN+0", SIGRTMIN},
                    SignalCase{"SIGRTMIN+3", SIGRTMIN + 3}, SignalCase{"RTMIN+1", SIGRTMIN + 1},
                    SignalCase{"SIGRTMAX", SIGRTMAX}, SignalCase{"SIGRTMAX-2", SIGRTMAX - 2}));

struct RejectCase {
  std::string text;
  std::string message;
};

class ParseSignalRejects : public testing::TestWithParam<RejectCase> {};

TEST_P(ParseSignalRejects, WithAMessage) {
  auto parsed = parse_signal(GetParam().text);
  ASSERT_FALSE(parsed.has_value()) << GetParam().text << " parsed as " << *parsed;
  EXPECT_EQ(parsed.error(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    ParseSignal, ParseSignalRejects,
    testing::Values(RejectCase{"SIGTREM", "unknown signal \"SIGTREM\"; did you mean \"SIGTERM\"?"},
                    RejectCase{"SIGFOO", "unknown signal \"SIGFOO\""},
                    RejectCase{"", "unknown signal \"\""},
                    RejectCase{"0", "signal number must be between 1 and 64, got 0"},
                    RejectCase{"65", "signal number must be between 1 and 64, got 65"},
                    RejectCase{
                        "SIGRTMIN+31",
                        "\"SIGRTMIN+31\" is beyond the real-time signals (SIGRTMIN..SIGRTMIN+30)"},
                    RejectCase{"SIGRTMIN-1", "unknown signal \"SIGRTMIN-1\""},
                    RejectCase{"-15", "unknown signal \"-15\""}));

TEST(SignalName, GivesCanonicalNames) {
  EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
  EXPECT_EQ(signal_name(SIGKILL), "SIGKILL");
  EXPECT_EQ(signal_name(SIGABRT), "SIGABRT");  // not its alias SIGIOT
  EXPECT_EQ(signal_name(SIGRTMIN), "SIGRTMIN");
  EXPECT_EQ(signal_name(SIGRTMIN + 4), "SIGRTMIN+4");
  EXPECT_EQ(signal_name(32), "32");  // reserved by glibc, nameless
}

TEST(SignalName, RoundTripsThroughParseSignal) {
  for (int signo = 1; signo <= 64; ++signo) {
    auto parsed = parse_signal(signal_name(signo));
    ASSERT_TRUE(parsed.has_value()) << signal_name(signo);
    EXPECT_EQ(*parsed, signo) << signal_name(signo);
  }
}

struct SizeCase {
  const char* text;
  std::uint64_t bytes;
};

class ParseByteSizeAccepts : public testing::TestWithParam<SizeCase> {};

TEST_P(ParseByteSizeAccepts, PlainAndSuffixed) {
  auto parsed = parse_byte_size(GetParam().text);
  ASSERT_TRUE(parsed.has_value()) << GetParam().text << ": " << parsed.error();
  EXPECT_EQ(*parsed, GetParam().bytes);
}

INSTANTIATE_TEST_SUITE_P(ParseByteSize, ParseByteSizeAccepts,
                         testing::Values(SizeCase{"0", 0}, SizeCase{"4096", 4096},
                                         SizeCase{"1K", 1024}, SizeCase{"64M", 64ull << 20},
                                         SizeCase{"64m", 64ull << 20}, SizeCase{"2G", 2ull << 30},
                                         SizeCase{"3T", 3ull << 40},
                                         SizeCase{"18446744073709551615", ~0ull},
                                         SizeCase{"16777215T", 16777215ull << 40}));

class ParseByteSizeRejects : public testing::TestWithParam<RejectCase> {};

TEST_P(ParseByteSizeRejects, WithAMessage) {
  auto parsed = parse_byte_size(GetParam().text);
  ASSERT_FALSE(parsed.has_value()) << GetParam().text << " parsed as " << *parsed;
  EXPECT_EQ(parsed.error(), GetParam().message);
}

const std::string kNotASize =
    "\" is not a size (expected digits with an optional K, M, G or T suffix, like \"64M\")";

INSTANTIATE_TEST_SUITE_P(
    ParseByteSize, ParseByteSizeRejects,
    testing::Values(RejectCase{"", "empty size"},
                    RejectCase{"64X", std::string("\"64X") + kNotASize},
                    RejectCase{"M", std::string("\"M") + kNotASize},
                    RejectCase{"-1", std::string("\"-1") + kNotASize},
                    RejectCase{"1.5G", std::string("\"1.5G") + kNotASize},
                    RejectCase{"18446744073709551616",
                               "\"18446744073709551616\" does not fit in 64 bits"},
                    RejectCase{"16777216T", "\"16777216T\" does not fit in 64 bits"}));

TEST(EditDistance, CountsInsertionsDeletionsSubstitutions) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("", "ab"), 2u);
  EXPECT_EQ(edit_distance("restart_sec", "restart_sec"), 0u);
  EXPECT_EQ(edit_distance("restart_secs", "restart_sec"), 1u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("flaw", "lawn"), 2u);
}

TEST(EditDistance, CountsAnAdjacentSwapAsOneEdit) {
  EXPECT_EQ(edit_distance("TREM", "TERM"), 1u);
  EXPECT_EQ(edit_distance("restrat_sec", "restart_sec"), 1u);
  EXPECT_EQ(edit_distance("ab", "ba"), 1u);
  EXPECT_EQ(edit_distance("abc", "ca"), 3u);  // optimal string alignment, not full Damerau
}

TEST(DidYouMean, SuggestsTheClosestCandidateWithinTwoEdits) {
  const std::vector<std::string_view> keys = {"restart", "restart_sec", "restart_max_sec"};
  EXPECT_EQ(did_you_mean("restart_secs", keys), "restart_sec");
  EXPECT_EQ(did_you_mean("restrat_sec", keys), "restart_sec");
  EXPECT_EQ(did_you_mean("restart_max_secs", keys), "restart_max_sec");
  EXPECT_EQ(did_you_mean("restar", keys), "restart");
  EXPECT_EQ(did_you_mean("lock", {"exec", "notify", "locked"}), "locked");
  EXPECT_EQ(did_you_mean("usr", {"exec", "user", "group"}), "user");
}

TEST(DidYouMean, StaysQuietWhenNothingIsClose) {
  const std::vector<std::string_view> keys = {"exec", "user", "group"};
  EXPECT_EQ(did_you_mean("command", keys), std::nullopt);
  EXPECT_EQ(did_you_mean("exec", keys), std::nullopt);           // an exact match is no typo
  EXPECT_EQ(did_you_mean("FOO", {"FPE", "HUP"}), std::nullopt);  // 2 edits of 3 letters
  EXPECT_EQ(did_you_mean("abc", {}), std::nullopt);
}

TEST(ConfigProblemToString, JoinsFileWhereAndMessage) {
  const ConfigProblem with_pointer{"/etc/a.json", "/children/x/exec", "is required"};
  EXPECT_EQ(with_pointer.to_string(), "/etc/a.json: /children/x/exec: is required");
  const ConfigProblem at_position{"/etc/a.json", "3:14", "syntax error"};
  EXPECT_EQ(at_position.to_string(), "/etc/a.json: 3:14: syntax error");
  const ConfigProblem whole_file{"/etc/a.json", "", "not a regular file"};
  EXPECT_EQ(whole_file.to_string(), "/etc/a.json: not a regular file");
}

}  // namespace
}  // namespace duende::supervisor
