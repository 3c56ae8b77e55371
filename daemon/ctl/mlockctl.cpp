// mlockctl: the command-line client of mlock-supervisor, over the system bus. This file
// parses the command line, runs one command and is the only place that turns outcomes
// into exit statuses (ctl_exit_codes.hpp).
#include <sdbus-c++/sdbus-c++.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ctl/ctl_actions.hpp"
#include "ctl/ctl_args.hpp"
#include "ctl/ctl_bus.hpp"
#include "ctl/ctl_exit_codes.hpp"
#include "ctl/ctl_format.hpp"
#include "ctl/ctl_help.hpp"
#include "ctl/ctl_logs.hpp"
#include "ctl/ctl_reexec.hpp"
#include "ctl/ctl_show.hpp"
#include "ctl/ctl_watch.hpp"

namespace {

using namespace duende::supervisor;

void out(const std::string& text) { std::fputs(text.c_str(), stdout); }

// "status NAME…" fetches only the named children (one GetAll each), never every child:
// at 1,000 children the whole tree is a 600 KB reply.
int run_status(sdbus::IConnection& connection, const CtlArgs& a) {
  const std::string owner = running_owner(connection);
  CtlSnapshot s;
  if (a.names.empty()) {
    s = read_snapshot(connection, owner);
  } else {
    static_cast<ManagerProperties&>(s) = read_manager(connection, owner);
    for (const auto& name : a.names) s.children.push_back(read_child(connection, owner, name));
  }
  out(a.json ? format_json(s) : format_status(s));
  return std::any_of(s.children.begin(), s.children.end(), ctl_in_trouble) ? kCtlTrouble : kCtlOk;
}

int run_show(sdbus::IConnection& connection, const CtlArgs& a) {
  const std::string owner = running_owner(connection);
  const ShowOptions options{a.properties, a.value_only};
  std::vector<std::pair<std::string, std::string>> all;
  std::string text;
  if (a.names.empty()) {
    const ManagerProperties m = read_manager(connection, owner);
    text = format_show(m, options);
    all = show_entries(m);
  } else {
    const CtlChild c = read_child(connection, owner, a.names[0]);
    text = format_show(c, options);
    all = show_entries(c);
  }
  if (!a.json) {
    out(text);
    return kCtlOk;
  }
  nlohmann::ordered_json props = nlohmann::ordered_json::object();
  for (const auto& [k, v] : all)
    if (a.properties.empty() || std::count(a.properties.begin(), a.properties.end(), k))
      props[k] = v;
  const nlohmann::ordered_json doc = {
      {"format", 1}, {"name", a.names.empty() ? "" : a.names[0]}, {"properties", props}};
  out(doc.dump(2) + "\n");
  return kCtlOk;
}

int run_metrics() {
  std::optional<CtlSnapshot> s;
  try {
    auto connection = connect_system_bus();
    s = read_snapshot(*connection, running_owner(*connection));
  } catch (const CtlError& e) {
    std::fprintf(stderr, "mlockctl: %s\n", e.what());
  } catch (const sdbus::Error& e) {
    std::fprintf(stderr, "mlockctl: %s\n", explain(e).what());
  }
  out(format_metrics(s));
  return kCtlOk;
}

int run_help(const CtlArgs& a) {
  if (a.names.empty()) {
    out(global_help());
    return kCtlOk;
  }
  const auto text = command_help(a.names[0]);
  if (!text) throw UsageError("no command \"" + a.names[0] + "\" (see mlockctl --help)");
  out(*text);
  return kCtlOk;
}

int run(const CtlArgs& a) {
  if (a.version) {
    std::printf("mlockctl %s\n", MLOCK_SUPERVISOR_VERSION);
    return kCtlOk;
  }
  if (a.help) {
    out(*command_help(a.command));  // parse_args() checked the command
    return kCtlOk;
  }
  if (a.command == "help") return run_help(a);
  if (a.command == "metrics") return run_metrics();
  if (a.command == "logs") exec_journalctl(a);
  if (a.command == "reload" && a.main_pid) {
    std::unique_ptr<sdbus::IConnection> connection;
    try {
      connection = connect_system_bus();
    } catch (const CtlError&) {  // early boot: no bus yet
    }
    return run_reload(connection.get(), a);
  }
  auto connection = connect_system_bus();
  if (a.command == "status") return run_status(*connection, a);
  if (a.command == "list") {
    const CtlSnapshot s = read_snapshot(*connection, running_owner(*connection));
    out(a.json ? format_json(s) : format_list(s));
    return kCtlOk;
  }
  if (a.command == "show") return run_show(*connection, a);
  if (a.command == "watch") return run_watch(*connection, a.json);
  if (a.command == "reexec") return run_reexec(*connection, a.json);
  if (a.command == "reload") return run_reload(connection.get(), a);
  return run_child_action(*connection, a);  // start, stop, restart
}

}  // namespace

int main(int argc, char** argv) {
  try {
    // The global help needs no command; "mlockctl --help" alone is not "status --help".
    if (argc == 2 && (std::string(argv[1]) == "-h" || std::string(argv[1]) == "--help")) {
      out(global_help());
      return kCtlOk;
    }
    return run(parse_args(std::vector<std::string>(argv + 1, argv + argc)));
  } catch (const CtlError& e) {
    std::fprintf(stderr, "mlockctl: %s\n", e.what());
    return e.code;
  } catch (const sdbus::Error& e) {
    std::fprintf(stderr, "mlockctl: %s\n", explain(e).what());
    return explain(e).code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mlockctl: %s\n", e.what());
    return kCtlFailed;
  }
}
