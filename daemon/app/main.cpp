// mlock-supervisor: parses the command line, calls run() or check_config(), and is the one
// place that turns their outcomes into exit codes (api/exit_codes.hpp).
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "api/exit_codes.hpp"
#include "app/cli_options.hpp"
#include "app/reexec.hpp"
#include "app/run.hpp"
#include "os/log.hpp"

namespace {

using namespace duende::supervisor;

int exit_code(RunError::Kind kind) {
  switch (kind) {
    case RunError::Kind::Config:
      return kExitConfig;
    case RunError::Kind::Lock:
    case RunError::Kind::Os:
      return kExitOsErr;
    case RunError::Kind::AlreadyRunning:
      return kExitAlreadyRunning;
  }
  return kExitSoftware;
}

int check(const Options& options) {
  const auto summary = check_config(options);
  if (!summary) {
    for (const ConfigProblem& p : summary.error())
      std::fprintf(stderr, "%s\n", p.to_string().c_str());
    std::fprintf(stderr, "%zu problem(s) found\n", summary.error().size());
    return kExitConfig;
  }
  std::printf("%s\n", summary->to_string().c_str());
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  auto options = parse_options(std::vector<std::string>(argv + 1, argv + argc));
  if (!options) {
    std::fprintf(stderr, "mlock-supervisor: %s (see --help)\n", options.error().c_str());
    return kExitUsage;
  }
  if (options->show_help) {
    std::fputs(help_text().c_str(), stdout);
    return kExitOk;
  }
  if (options->show_version) {
    std::printf("mlock-supervisor %s\n", MLOCK_SUPERVISOR_VERSION);
    return kExitOk;
  }
  options->argv.assign(argv, argv + argc);
  options->executable = own_executable();
  try {
    if (options->check_config) return check(*options);
    const auto ran = run(*options);
    return ran ? kExitOk : exit_code(ran.error().kind);
  } catch (const std::exception& e) {
    log_error(std::string("fatal: ") + e.what());
    return kExitSoftware;
  }
}
