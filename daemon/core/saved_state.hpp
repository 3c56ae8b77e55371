// The supervisor's state file ($RUNTIME_DIRECTORY/state.json): what a supervisor that
// starts after a crash, a restart or a re-exec needs to find its children again and carry
// on where the last one stopped. Versioned; anything unreadable is ignored with a warning.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "api/child_state.hpp"
#include "duende/result.hpp"

namespace duende::supervisor {

struct SavedChild {
  std::string name;
  std::string boot_id;           // a start time means nothing on another boot
  pid_t pid = 0;                 // 0: no process (stopped, failed, exited, backoff)
  std::uint64_t start_time = 0;  // /proc/PID/stat field 22 of that process
  std::string definition;        // definition_hash() of the spec it runs
  ChildState state = ChildState::Stopped;
  unsigned restarts = 0;
  unsigned backoff_step = 0;
  int last_exit_status = 0;
  std::string last_failure;
  // Added after version 1 was fixed: absent in older files, read as "", 0.
  std::string last_exit_code;            // kExitCodeExited, … ("" before any exit)
  std::int64_t state_changed_at_us = 0;  // wall clock, when it entered `state`
  std::int64_t exited_at_us = 0;         // wall clock, when its last process ended
  unsigned lock_losses = 0;
  bool locked = false;             // VmLck > 0 at the last check
  std::string lock_report;         // its last lock report (format_lock_report), "" for none
  std::int64_t started_at_us = 0;  // wall clock, when its process started
  std::int64_t adopted_at_us = 0;  // wall clock, when a supervisor adopted it; 0 never
  // How to stop it if the configuration no longer has it.
  int stop_signal = 15;
  double stop_timeout_sec = 10;
  std::vector<std::string> command;
  bool then_start = false;  // stopping to start again (a restart, a reload's change)
  int fd = -1;              // its pidfd, kept open across the execve() of a re-exec; else -1
  // The swap it backs: its device ("" none or not known yet) and whether it was on.
  std::string swap_device;
  bool swap_active = false;

  bool operator==(const SavedChild&) const = default;
};

// The supervisor's own record (the file "supervisor").
struct SavedSupervisor {
  static constexpr int kVersion = 1;
  std::string boot_id;
  pid_t pid = 0;
  std::int64_t started_at_us = 0;  // wall clock, when this supervisor process started
  unsigned restarts = 0;           // supervisor starts that adopted a previous one's children
  unsigned reexecs = 0;            // re-execs in place
  bool clean = false;              // the supervisor stopped every child and exited
  bool reexec = false;             // written for a re-exec: `fd`s and notify_fd are open
  int notify_fd = -1;

  bool operator==(const SavedSupervisor&) const = default;
};

// Everything the state directory holds: one file for the supervisor, one per child (so a
// change to one child rewrites one small file, whatever the number of children).
struct SavedState {
  SavedSupervisor supervisor;
  std::vector<SavedChild> children;
};

// The file names (keys) in the state directory.
inline constexpr const char* kSupervisorStateKey = "supervisor";
inline std::string child_state_key(const std::string& name) { return "child." + name; }

std::string to_json(const SavedSupervisor& supervisor);
std::string to_json(const SavedChild& child);
// Failure: why the text is not a record of this version (for the warning).
mlock::Result<SavedSupervisor, std::string> parse_saved_supervisor(std::string_view text);
mlock::Result<SavedChild, std::string> parse_saved_child(std::string_view text);

// Assembles the state from the files (key → text) a System's load_state() returned; every
// record that cannot be used is left out with a line in `warnings`.
SavedState assemble_saved_state(const std::map<std::string, std::string>& files,
                                std::vector<std::string>& warnings);

}  // namespace duende::supervisor
