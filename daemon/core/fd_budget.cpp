#include "core/fd_budget.hpp"

namespace duende::supervisor {

std::uint64_t fds_needed(const Config& config) {
  return kSupervisorFds + kFdsPerChild * config.children.size();
}

std::uint64_t fds_spare(std::size_t children, std::uint64_t limit) {
  const std::uint64_t needed = kSupervisorFds + kFdsPerChild * children;
  return limit > needed ? limit - needed : 0;
}

std::optional<std::string> fd_budget_problem(const Config& config, std::uint64_t limit) {
  const std::uint64_t needed = fds_needed(config);
  if (needed <= limit) return std::nullopt;
  return "the configuration needs " + std::to_string(needed) + " file descriptors (" +
         std::to_string(config.children.size()) + " children, " + std::to_string(kFdsPerChild) +
         " each, and " + std::to_string(kSupervisorFds) +
         " for the supervisor), but the limit is " + std::to_string(limit) +
         " (RLIMIT_NOFILE: raise LimitNOFILE= in the unit)";
}

}  // namespace duende::supervisor
