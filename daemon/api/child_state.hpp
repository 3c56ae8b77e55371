// A child's lifecycle states and the manager's, with their one spelling (as D-Bus shows
// them and mlockctl reads them), and the one rule for "in trouble".
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace duende::supervisor {

// A supervised child's state:
//   starting  spawned, waiting for readiness (exec | notify | locked)
//   running   ready
//   backoff   exited or failed to start; restarting after a delay
//   stopping  stop signal sent, waiting for the exit (SIGKILL after stop_timeout_sec)
//   stopped   stopped on request (or not started yet)
//   failed    gave up: restart policy says no after a failure, or the start limit hit
//   exited    exited with status 0 and the policy does not restart it
enum class ChildState { Starting, Running, Backoff, Stopping, Stopped, Failed, Exited };

// Every state, in the order above.
inline constexpr ChildState kChildStates[] = {
    ChildState::Starting, ChildState::Running, ChildState::Backoff, ChildState::Stopping,
    ChildState::Stopped,  ChildState::Failed,  ChildState::Exited};

// "starting", "running", …
const char* to_string(ChildState state);
// The inverse of to_string(ChildState); nullopt for anything else.
std::optional<ChildState> parse_child_state(std::string_view text);

// The manager's state.
enum class ManagerState { Starting, Running, Degraded, Reloading, Stopping };
const char* to_string(ManagerState state);
// The inverse of to_string(ManagerState); nullopt for anything else.
std::optional<ManagerState> parse_manager_state(std::string_view text);

// What decides whether a child is in trouble.
struct TroubleFacts {
  ChildState state = ChildState::Stopped;
  bool must_be_locked = false;
  std::uint64_t locked_bytes = 0;   // VmLck of its process
  std::uint64_t swapped_bytes = 0;  // VmSwap of its process
  // Lockable mappings without the lock at the last smaps check, for a child whose lock
  // covers every mapping (mlock "future"); 0 otherwise, and before the first check.
  std::uint64_t unlocked_mappings = 0;
  // Processes of its tree (its cgroup) other than the main one that run unlocked.
  std::uint64_t unlocked_processes = 0;
  // Its mlock asks io_flusher (PR_SET_IO_FLUSHER) and some thread of its tree lacks
  // PF_MEMALLOC_NOIO|PF_LOCAL_THROTTLE: its own reclaim may then wait on the I/O it serves.
  bool io_flusher_missing = false;
  // The swap it backs failed: a swapon that failed, a stop refused because swapoff
  // failed, or its backend died with the swap on.
  bool swap_failed = false;
};

// A child is in trouble when it failed, when it waits in backoff to be restarted (it
// exited or failed to start: a crash loop shows as trouble before the start limit ends
// it), or must be locked and runs with VmLck 0, with an
// unlocked process in its tree, with pages in swap (shared memory included), or with
// mappings it unlocked (munlock() of a region while VmLck stays above 0: those pages can be
// swapped out next): each is a lost lock, the deadlock this project exists to prevent. So
// is a running child asked to be an I/O flusher whose threads lack the flags (whether or
// not it must be locked). The supervisor's STATUS= ("degraded"), the manager's Degraded state,
// `mlockctl status`'s exit status and the mlock_supervisor_child_in_trouble metric all use this
// rule. So is a child whose swap failed (swap_failed).
bool in_trouble(const TroubleFacts& facts);

}  // namespace duende::supervisor
