// journalctl_argv: the command line `mlockctl logs NAME` hands to journalctl, match for
// match: the child's own output OR the supervisor's entries about it, both only from the
// unit, with -n and -f passed on.
#include "ctl/ctl_logs.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace duende::supervisor {
namespace {

using Argv = std::vector<std::string>;

const Argv kMatches = {
    "journalctl", "_SYSTEMD_UNIT=mlock-supervisor.service", "SYSLOG_IDENTIFIER=swap0",
    "+",          "_SYSTEMD_UNIT=mlock-supervisor.service", "SYSLOG_IDENTIFIER=mlock-supervisor",
    "CHILD=swap0"};

Argv with(Argv argv, const Argv& tail) {
  argv.insert(argv.end(), tail.begin(), tail.end());
  return argv;
}

TEST(JournalctlArgv, TheChildsOutputOrTheSupervisorsLinesAboutIt) {
  EXPECT_EQ(journalctl_argv(parse_args({"logs", "swap0"})), kMatches);
}

TEST(JournalctlArgv, PassesLinesAndFollowOnAfterTheMatches) {
  EXPECT_EQ(journalctl_argv(parse_args({"logs", "swap0", "-n", "20"})),
            with(kMatches, {"--lines=20"}));
  EXPECT_EQ(journalctl_argv(parse_args({"logs", "-f", "swap0"})), with(kMatches, {"--follow"}));
  EXPECT_EQ(journalctl_argv(parse_args({"logs", "swap0", "-n", "0", "-f"})),
            with(kMatches, {"--lines=0", "--follow"}));
}

// A child's name is one argument whatever it holds: no shell, and a "+" or a space in it
// cannot split or join the groups of matches.
TEST(JournalctlArgv, ANameIsOneMatchValue) {
  const Argv argv = journalctl_argv(parse_args({"logs", "a b+c"}));
  ASSERT_EQ(argv.size(), kMatches.size());
  EXPECT_EQ(argv[2], "SYSLOG_IDENTIFIER=a b+c");
  EXPECT_EQ(argv[6], "CHILD=a b+c");
}

}  // namespace
}  // namespace duende::supervisor
