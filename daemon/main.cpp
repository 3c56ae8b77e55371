// mlock-supervisor: parses the command line, calls run(), turns errors into exit codes.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli_options.hpp"
#include "log.hpp"
#include "run.hpp"

int main(int argc, char** argv) {
  using namespace duende::supervisor;
  const auto options = parse_options(std::vector<std::string>(argv + 1, argv + argc));
  if (!options) {
    std::fprintf(stderr, "mlock-supervisor: %s\n", options.error().c_str());
    return kExitConfig;
  }
  if (options->show_help) {
    std::fputs(help_text().c_str(), stdout);
    return kExitOk;
  }
  if (options->show_version) {
    std::printf("mlock-supervisor %s\n", MLOCK_SUPERVISOR_VERSION);
    return kExitOk;
  }
  try {
    return options->check_config ? check_config(*options) : run(*options);
  } catch (const std::exception& e) {
    log_error(std::string("fatal: ") + e.what());
    return kExitFailure;
  }
}
