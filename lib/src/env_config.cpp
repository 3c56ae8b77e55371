// The DUENDE_MLOCK_* environment: written by a supervisor, read by the child it starts.
#include <cstdlib>
#include <cstring>

#include "duende/mlock.hpp"

namespace duende::mlock {

namespace {

// One table for both directions, in lock_environment()'s order, so that a flag added to
// MlockConfig cannot be written without being read.
struct Flag {
  const char* name;
  bool (MlockConfig::*get)() const noexcept;
  MlockConfigBuilder& (MlockConfigBuilder::*set)(bool) noexcept;
};

constexpr Flag kFlags[] = {
    {kEnvCurrent, &MlockConfig::current, &MlockConfigBuilder::current},
    {kEnvFuture, &MlockConfig::future, &MlockConfigBuilder::future},
    {kEnvOnfault, &MlockConfig::onfault, &MlockConfigBuilder::onfault},
    {kEnvRequired, &MlockConfig::required, &MlockConfigBuilder::required},
    {kEnvIoFlusher, &MlockConfig::io_flusher, &MlockConfigBuilder::io_flusher},
    {kEnvRetainHeap, &MlockConfig::retain_heap, &MlockConfigBuilder::retain_heap},
    {kEnvRelockAfterFork, &MlockConfig::relock_after_fork, &MlockConfigBuilder::relock_after_fork},
};

}  // namespace

std::vector<std::pair<std::string, std::string>> lock_environment(const MlockConfig& config,
                                                                  bool report) {
  std::vector<std::pair<std::string, std::string>> env;
  env.reserve(std::size(kFlags) + 1);
  if (report) env.emplace_back(kEnvReport, "1");
  for (const Flag& flag : kFlags) env.emplace_back(flag.name, (config.*flag.get)() ? "1" : "0");
  return env;
}

Result<MlockConfig, std::string> config_from_environment(const EnvLookup& lookup) {
  const MlockConfig defaults;
  MlockConfigBuilder builder = MlockConfig::builder();
  for (const Flag& flag : kFlags) {
    const char* value = lookup(flag.name);
    bool on = (defaults.*flag.get)();
    if (value && *value) {
      if (std::strcmp(value, "1") == 0)
        on = true;
      else if (std::strcmp(value, "0") == 0)
        on = false;
      else
        return Unexpected(std::string(flag.name) + "=\"" + value + "\" is invalid: use 1 or 0");
    }
    (builder.*flag.set)(on);
  }
  return builder.build();
}

Result<MlockConfig, std::string> config_from_environment() {
  return config_from_environment([](const char* name) { return std::getenv(name); });
}

}  // namespace duende::mlock
