#include "ctl/ctl_args.hpp"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "ctl/ctl_exit_codes.hpp"
#include "ctl/ctl_help.hpp"

namespace duende::supervisor {
namespace {

unsigned long number(const std::string& option, const std::string& text, unsigned long max) {
  char* end = nullptr;
  const unsigned long n = std::strtoul(text.c_str(), &end, 10);
  if (text.empty() || *end || text[0] == '-' || n > max)
    throw UsageError(option + ": expects a number up to " + std::to_string(max) + ", not \"" +
                     text + "\"");
  return n;
}

void split_into(std::vector<std::string>& out, const std::string& list) {
  std::size_t start = 0;
  while (start <= list.size()) {
    const auto comma = list.find(',', start);
    const std::string item = list.substr(start, comma == std::string::npos ? comma : comma - start);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
}

// Which options each command takes (beyond --json, --help).
void check_option(const std::string& command, const std::string& option) {
  static const std::set<std::string> kWaiting = {"start", "stop", "restart", "reload"};
  const bool ok = (option == "--force" && command == "stop") ||
                  ((option == "--no-block" || option == "--timeout") && kWaiting.count(command)) ||
                  ((option == "-p" || option == "--value") && command == "show") ||
                  ((option == "-n" || option == "-f") && command == "logs") ||
                  (option == "--main-pid" && command == "reload");
  if (!ok)
    throw UsageError(option == "--force" ? "--force is only for stop"
                                         : option + " is not an option of " + command +
                                               " (see mlockctl " + command + " --help)");
}

void check_operands(const CtlArgs& a) {
  const std::string& c = a.command;
  const auto want = [&](std::size_t lo, std::size_t hi) {
    if (a.names.size() < lo || a.names.size() > hi)
      throw UsageError(c + ": expects " +
                       (lo == hi ? std::to_string(lo) : "at most " + std::to_string(hi)) +
                       " argument(s)");
  };
  if (c == "status") return;
  if (c == "start" || c == "stop" || c == "restart" || c == "logs") return want(1, 1);
  if (c == "show" || c == "help") return want(0, 1);
  want(0, 0);
}

}  // namespace

CtlArgs parse_args(const std::vector<std::string>& argv) {
  CtlArgs a;
  std::vector<std::pair<std::string, std::string>> options;  // checked once the command is known
  std::vector<std::string> words;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    std::string arg = argv[i];
    std::string value;
    const auto eq = arg.find('=');
    if (arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    const auto take_value = [&] {
      if (!value.empty()) return value;
      if (i + 1 >= argv.size()) throw UsageError(arg + ": expects a value");
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help")
      a.help = true;
    else if (arg == "-V" || arg == "--version")
      a.version = true;
    else if (arg == "--json")
      a.json = true;
    else if (arg == "--force")
      options.emplace_back("--force", ""), a.force = true;
    else if (arg == "--no-block")
      options.emplace_back("--no-block", ""), a.no_block = true;
    else if (arg == "--value")
      options.emplace_back("--value", ""), a.value_only = true;
    else if (arg == "-f" || arg == "--follow")
      options.emplace_back("-f", ""), a.follow = true;
    else if (arg == "--timeout") {
      options.emplace_back("--timeout", "");
      a.timeout = std::chrono::milliseconds(number("--timeout", take_value(), 86400) * 1000);
    } else if (arg == "-p" || arg == "--property") {
      options.emplace_back("-p", "");
      split_into(a.properties, take_value());
    } else if (arg == "-n" || arg == "--lines") {
      options.emplace_back("-n", "");
      a.lines = static_cast<unsigned>(number("-n", take_value(), 1000000));
    } else if (arg == "--main-pid") {
      options.emplace_back("--main-pid", "");
      a.main_pid = static_cast<int>(number("--main-pid", take_value(), 4194304));
    } else if (arg.size() > 1 && arg[0] == '-')
      throw UsageError("unknown option " + arg + " (see mlockctl --help)");
    else
      words.push_back(arg);
  }
  if (a.version) return a;
  if (!words.empty()) {
    a.command = words[0];
    a.names.assign(words.begin() + 1, words.end());
  }
  const auto& known = command_names();
  if (std::find(known.begin(), known.end(), a.command) == known.end())
    throw UsageError("unknown command \"" + a.command + "\" (see mlockctl --help)");
  if (a.help) return a;
  for (const auto& [option, unused] : options) check_option(a.command, option);
  check_operands(a);
  if (a.json && (a.command == "metrics" || a.command == "logs" || a.command == "help"))
    throw UsageError("--json is not for " + a.command +
                     (a.command == "metrics" ? " (its output is Prometheus text)" : ""));
  return a;
}

}  // namespace duende::supervisor
