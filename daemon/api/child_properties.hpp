// The properties of the Child and Manager interfaces, defined once: the value types, and a
// table that names each D-Bus property beside the member holding it. The daemon's adaptor
// fills them from the core and emits PropertiesChanged from changed_properties(); mlockctl
// reads them back from GetManagedObjects/GetAll through the same table. The XML in dbus/ is
// the source of truth for the names and types; a unit test holds the tables to it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "api/child_state.hpp"

namespace duende::supervisor {

// LastExitStatus when the status is unknown (INT32_MIN): an adopted process reaped by
// someone else, whose status the kernel did not keep. The core's ExitStatus::kUnknown.
inline constexpr std::int32_t kExitStatusUnknown = -2147483647 - 1;

// LastExitCode's values, as systemd's ExecMainCode names them: how the last process ended.
// "exited": LastExitStatus is its exit status; "killed": by signal -LastExitStatus;
// "dumped": killed by signal -LastExitStatus, and it dumped core; "unknown": an adopted
// process whose status the kernel did not keep (LastExitStatus is kExitStatusUnknown);
// "" before any exit.
inline constexpr const char* kExitCodeExited = "exited";
inline constexpr const char* kExitCodeKilled = "killed";
inline constexpr const char* kExitCodeDumped = "dumped";
inline constexpr const char* kExitCodeUnknown = "unknown";

// MemlockHeadroomBytes when no RLIMIT_MEMLOCK applies: the child holds CAP_IPC_LOCK (root,
// or given it as an ambient capability), the limit is unlimited or not read yet, or there
// is no process. UINT64_MAX.
inline constexpr std::uint64_t kNoMemlockHeadroom = UINT64_MAX;

// IoFlusher's values: every thread of every process carries PF_MEMALLOC_NOIO and
// PF_LOCAL_THROTTLE, or some thread lacks them ("" when unknown).
inline constexpr const char* kIoFlusherYes = "yes";
inline constexpr const char* kIoFlusherNo = "no";

// One process of a child's tree, as the Processes property (a(usbtt)) lists it.
struct TreeProcess {
  std::uint32_t pid = 0;
  std::string comm;                 // /proc/PID/comm
  bool locked = false;              // VmLck > 0
  std::uint64_t locked_bytes = 0;   // VmLck
  std::uint64_t swapped_bytes = 0;  // VmSwap + its shared memory in swap (smaps Swap:)
  bool operator==(const TreeProcess&) const = default;
};

// One child, as org.duende.MlockSupervisor1.Child shows it.
struct ChildProperties {
  std::string name;                           // Name
  std::string state;                          // State: to_string(ChildState)
  std::uint32_t pid = 0;                      // Pid, 0 when no process
  std::uint64_t started_at_us = 0;            // StartedAt: µs since the epoch, 0 when no process
  std::uint64_t state_changed_at_us = 0;      // StateChangedAt: when it entered State, µs
  std::uint64_t exited_at_us = 0;             // ExitedAt: when its last process ended, µs; 0
  bool adopted = false;                       // Adopted: started by an earlier supervisor process
  std::uint64_t adopted_at_us = 0;            // AdoptedAt: µs since the epoch, 0 unless adopted
  bool is_locked = false;                     // IsLocked: a process with VmLck > 0
  std::uint64_t locked_bytes = 0;             // LockedBytes: VmLck
  std::uint64_t swapped_bytes = 0;            // SwappedBytes: VmSwap + SwappedShmemBytes
  std::uint64_t swapped_shmem_bytes = 0;      // SwappedShmemBytes: shared memory in swap
  std::uint64_t resident_bytes = 0;           // ResidentBytes: VmRSS
  std::uint64_t resident_unlocked_bytes = 0;  // ResidentUnlockedBytes: Rss of unlocked mappings
  // MemlockHeadroomBytes: kNoMemlockHeadroom when no limit applies
  std::uint64_t memlock_headroom_bytes = kNoMemlockHeadroom;
  bool fully_locked = false;             // FullyLocked: the last smaps coverage check passed
  std::uint32_t unlocked_mappings = 0;   // UnlockedMappings: see TroubleFacts
  std::vector<TreeProcess> processes;    // Processes: every process of its tree, main first
  std::uint32_t unlocked_processes = 0;  // UnlockedProcesses: see TroubleFacts
  std::uint32_t threads = 0;             // Threads: of every process of its tree
  std::uint32_t io_flusher_threads = 0;  // IoFlusherThreads: of them, with the flags
  std::string io_flusher;                // IoFlusher: kIoFlusherYes, kIoFlusherNo, "" unknown
  bool wants_io_flusher = false;         // WantsIoFlusher: its mlock asks io_flusher
  std::uint32_t oom_kills = 0;           // OomKills: processes the OOM killer ended
  bool must_be_locked = false;           // MustBeLocked
  std::string lock_report;               // LockReport: what the child itself reported
  std::uint32_t restarts = 0;            // Restarts
  std::int32_t last_exit_status = 0;     // LastExitStatus: code, -N for signal N, or
                                         // kExitStatusUnknown
  std::string last_exit_code;            // LastExitCode: kExitCodeExited, … or ""
  std::string last_failure;              // LastFailure
  std::uint32_t lock_losses = 0;         // LockLosses: lost locks since it was configured
  std::vector<std::string> command;      // Command: its argv
  std::string swap_device;               // SwapDevice: "" when none (yet)
  std::string swap_state = "off";        // SwapState: to_string(SwapState)
  std::string swap_error;                // SwapError: why its last swap step failed
  std::uint64_t swap_size_bytes = 0;     // SwapSizeBytes: /proc/swaps Size
  std::uint64_t swap_used_bytes = 0;     // SwapUsedBytes: /proc/swaps Used

  bool operator==(const ChildProperties&) const = default;
};

// The type of the member a table entry points to: decltype(member_type(member)).
template <class C, class T>
T member_type(T C::*);

// Calls f(dbus_name, member_pointer) for every property of the Child interface, in the
// XML's order.
template <class F>
void for_each_child_property(F&& f) {
  f("Name", &ChildProperties::name);
  f("State", &ChildProperties::state);
  f("Pid", &ChildProperties::pid);
  f("StartedAt", &ChildProperties::started_at_us);
  f("StateChangedAt", &ChildProperties::state_changed_at_us);
  f("ExitedAt", &ChildProperties::exited_at_us);
  f("Adopted", &ChildProperties::adopted);
  f("AdoptedAt", &ChildProperties::adopted_at_us);
  f("IsLocked", &ChildProperties::is_locked);
  f("LockedBytes", &ChildProperties::locked_bytes);
  f("SwappedBytes", &ChildProperties::swapped_bytes);
  f("SwappedShmemBytes", &ChildProperties::swapped_shmem_bytes);
  f("ResidentBytes", &ChildProperties::resident_bytes);
  f("ResidentUnlockedBytes", &ChildProperties::resident_unlocked_bytes);
  f("MemlockHeadroomBytes", &ChildProperties::memlock_headroom_bytes);
  f("FullyLocked", &ChildProperties::fully_locked);
  f("UnlockedMappings", &ChildProperties::unlocked_mappings);
  f("Processes", &ChildProperties::processes);
  f("UnlockedProcesses", &ChildProperties::unlocked_processes);
  f("Threads", &ChildProperties::threads);
  f("IoFlusherThreads", &ChildProperties::io_flusher_threads);
  f("IoFlusher", &ChildProperties::io_flusher);
  f("WantsIoFlusher", &ChildProperties::wants_io_flusher);
  f("OomKills", &ChildProperties::oom_kills);
  f("MustBeLocked", &ChildProperties::must_be_locked);
  f("LockReport", &ChildProperties::lock_report);
  f("Restarts", &ChildProperties::restarts);
  f("LastExitStatus", &ChildProperties::last_exit_status);
  f("LastExitCode", &ChildProperties::last_exit_code);
  f("LastFailure", &ChildProperties::last_failure);
  f("LockLosses", &ChildProperties::lock_losses);
  f("Command", &ChildProperties::command);
  f("SwapDevice", &ChildProperties::swap_device);
  f("SwapState", &ChildProperties::swap_state);
  f("SwapError", &ChildProperties::swap_error);
  f("SwapSizeBytes", &ChildProperties::swap_size_bytes);
  f("SwapUsedBytes", &ChildProperties::swap_used_bytes);
}

// The supervisor, as org.duende.MlockSupervisor1.Manager shows it.
struct ManagerProperties {
  std::string version;                   // Version
  std::string state;                     // State: to_string(ManagerState)
  bool self_locked = false;              // SelfLocked
  std::uint64_t self_locked_bytes = 0;   // SelfLockedBytes: the supervisor's own VmLck
  std::uint32_t child_count = 0;         // ChildCount
  std::uint32_t locked_child_count = 0;  // LockedChildCount
  std::uint64_t total_locked_bytes = 0;  // TotalLockedBytes: sum of the children's VmLck
  std::uint64_t started_at_us = 0;       // StartedAt: µs since the epoch, kept by re-execs
  std::uint32_t restarts = 0;            // Restarts: starts that adopted a dead one's children
  std::uint32_t reexecs = 0;             // Reexecs: re-execs in place
  std::string reexec_failure;            // ReexecFailure: why the last one did not happen
  std::string process_tracking;          // ProcessTracking: "cgroup v2: PATH" or
                                         // "process groups: WHY" (a double fork escapes)

  bool operator==(const ManagerProperties&) const = default;
};

template <class F>
void for_each_manager_property(F&& f) {
  f("Version", &ManagerProperties::version);
  f("State", &ManagerProperties::state);
  f("SelfLocked", &ManagerProperties::self_locked);
  f("SelfLockedBytes", &ManagerProperties::self_locked_bytes);
  f("ChildCount", &ManagerProperties::child_count);
  f("LockedChildCount", &ManagerProperties::locked_child_count);
  f("TotalLockedBytes", &ManagerProperties::total_locked_bytes);
  f("StartedAt", &ManagerProperties::started_at_us);
  f("Restarts", &ManagerProperties::restarts);
  f("Reexecs", &ManagerProperties::reexecs);
  f("ReexecFailure", &ManagerProperties::reexec_failure);
  f("ProcessTracking", &ManagerProperties::process_tracking);
}

// The D-Bus names of the properties whose values differ between `a` and `b`, in table
// order: what a PropertiesChanged signal must carry.
std::vector<std::string> changed_properties(const ChildProperties& a, const ChildProperties& b);
std::vector<std::string> changed_properties(const ManagerProperties& a, const ManagerProperties& b);

// in_trouble() (child_state.hpp) of a child as shown on the bus; an unknown state counts
// as not in trouble.
bool in_trouble(const ChildProperties& child);

}  // namespace duende::supervisor
