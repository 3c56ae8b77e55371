// The file descriptors a configuration needs, against the process's limit: a start or a
// reload that would run out is refused as a configuration error, before anything is
// started, so that EMFILE never has to be met halfway through.
//
// What the supervisor holds (measured with ls /proc/PID/fd; see README "Limits"):
//   - for each child while it runs: 1 (its pidfd; its deadlines share one timerfd);
//   - for a moment while a child starts: 2 more (the journal stream, /dev/null), one start
//     at a time;
//   - for itself: stdio, epoll, signalfd, the one timerfd, the notify socket, the instance
//     lock, the D-Bus connection and its timers, /proc files being read: kSupervisorFds
//     with room to spare.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "config/config.hpp"

namespace duende::supervisor {

inline constexpr std::uint64_t kFdsPerChild = 1;
inline constexpr std::uint64_t kSupervisorFds = 64;

// kSupervisorFds + kFdsPerChild for each child of `config`.
std::uint64_t fds_needed(const Config& config);

// What `limit` leaves over once `children` children and the supervisor have theirs (0 when
// nothing): the room System::set_spare_fds() is told of.
std::uint64_t fds_spare(std::size_t children, std::uint64_t limit);

// nullopt when `config` fits in `limit` descriptors; otherwise the reason, naming the
// numbers: "the configuration needs 1064 file descriptors (1000 children, 1 each, and 64
// for the supervisor), but the limit is 1024 (RLIMIT_NOFILE: raise LimitNOFILE= in the
// unit)".
std::optional<std::string> fd_budget_problem(const Config& config, std::uint64_t limit);

}  // namespace duende::supervisor
