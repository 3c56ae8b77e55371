#include "child_environment.hpp"

#include <map>

namespace duende::supervisor {

std::vector<std::string> child_environment(const ChildConfig& child,
                                           const std::string& notify_socket,
                                           const std::string& preload_path,
                                           const std::string& home) {
  std::map<std::string, std::string> env;
  env["PATH"] = kDefaultPath;
  if (!child.user_name.empty()) {
    env["USER"] = child.user_name;
    env["LOGNAME"] = child.user_name;
    if (!home.empty()) env["HOME"] = home;
  }
  for (const auto& [key, value] : child.environment) env[key] = value;

  const auto flag = [](bool on) { return std::string(on ? "1" : "0"); };
  env["NOTIFY_SOCKET"] = notify_socket;
  env["DUENDE_MLOCK_REPORT"] = "1";
  env["DUENDE_MLOCK_CURRENT"] = flag(child.mlock.current);
  env["DUENDE_MLOCK_FUTURE"] = flag(child.mlock.future);
  env["DUENDE_MLOCK_ONFAULT"] = flag(child.mlock.onfault);
  env["DUENDE_MLOCK_REQUIRED"] = flag(child.mlock.required);
  env["DUENDE_MLOCK_IO_FLUSHER"] = flag(child.mlock.io_flusher);
  env["DUENDE_MLOCK_RETAIN_HEAP"] = flag(child.mlock.retain_heap);
  if (child.preload) {
    const auto given = child.environment.find("LD_PRELOAD");
    env["LD_PRELOAD"] =
        preload_path +
        (given != child.environment.end() && !given->second.empty() ? " " + given->second : "");
  }

  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [key, value] : env) out.push_back(key + "=" + value);
  return out;
}

}  // namespace duende::supervisor
