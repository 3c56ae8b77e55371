// The mlock-supervisor command line.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "duende/result.hpp"

namespace duende::supervisor {

struct Options {
  ConfigSources sources;
  bool check_config = false;
  bool show_help = false;
  bool show_version = false;
  // libduende-mlock-preload.so given to children with "preload": true: --preload, else
  // the installed path (app/preload_shim.hpp may find the build tree's instead).
  std::string preload_path = MLOCK_PRELOAD_INSTALLED;
  bool preload_given = false;  // --preload was given
  // The command line as given (argv[0] included) and the binary's path: what a re-exec
  // runs again. Set by main(), not by parse_options().
  std::vector<std::string> argv;
  std::string executable;
};

// Parses argv (without argv[0]). Errors name the offending argument.
duende::mlock::Result<Options, std::string> parse_options(const std::vector<std::string>& args);

// The --help text.
std::string help_text();

}  // namespace duende::supervisor
