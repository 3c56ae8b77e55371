#include "env_config.hpp"

#include <cstring>

namespace duende::mlock::internal {

Result<MlockConfig, std::string> config_from_environment(const EnvLookup& lookup) {
  const MlockConfig defaults;
  struct Flag {
    const char* name;
    bool fallback;
    MlockConfigBuilder& (MlockConfigBuilder::*set)(bool) noexcept;
  };
  const Flag flags[] = {
      {"DUENDE_MLOCK_CURRENT", defaults.current(), &MlockConfigBuilder::current},
      {"DUENDE_MLOCK_FUTURE", defaults.future(), &MlockConfigBuilder::future},
      {"DUENDE_MLOCK_ONFAULT", defaults.onfault(), &MlockConfigBuilder::onfault},
      {"DUENDE_MLOCK_REQUIRED", defaults.required(), &MlockConfigBuilder::required},
      {"DUENDE_MLOCK_IO_FLUSHER", defaults.io_flusher(), &MlockConfigBuilder::io_flusher},
      {"DUENDE_MLOCK_RETAIN_HEAP", defaults.retain_heap(), &MlockConfigBuilder::retain_heap},
  };
  MlockConfigBuilder builder = MlockConfig::builder();
  for (const Flag& flag : flags) {
    const char* value = lookup(flag.name);
    bool on = flag.fallback;
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

}  // namespace duende::mlock::internal
