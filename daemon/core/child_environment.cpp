#include "core/child_environment.hpp"

#include <map>

namespace duende::supervisor {

std::vector<std::string> child_environment(const ChildSpec& child, const std::string& notify_socket,
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

  env["NOTIFY_SOCKET"] = notify_socket;
  // The library's own spelling of the lock request (and DUENDE_MLOCK_REPORT=1).
  for (auto& [key, value] : mlock::lock_environment(child.mlock)) env[key] = std::move(value);
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
