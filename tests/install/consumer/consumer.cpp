#include <duende/mlock.hpp>

#include <cstdio>

int main() {
  const auto config = duende::mlock::MlockConfig::builder().required(false).build();
  const auto status = duende::mlock::lock_with_config(config);
  if (!status) return 1;
  std::printf("consumer_cpp: %s\n", status->to_string().c_str());
  return status->is_locked() && duende::mlock::locked_bytes() > 0 ? 0 : 2;
}
