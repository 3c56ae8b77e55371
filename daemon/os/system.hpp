// The OS seam: everything the supervisor's core asks of the operating system, behind one
// small interface the core is given (LevelDB's Env, ninja's DiskInterface). KernelSystem
// (kernel_system.hpp) implements it over the real kernel; tests implement it by hand
// (tests/support/fake_system.hpp) with a clock they move themselves, so the core's logic
// (backoff, start limits, ordering, reload, readiness, lock loss) runs in milliseconds.
//
// Everything here is called from the one event-loop thread, and every call returns
// promptly: none blocks on a child, a pipe or a socket.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "duende/mlock.hpp"
#include "os/clock.hpp"
#include "os/spawn.hpp"

namespace duende::supervisor {

// A started process, as the core holds it: its pid and an opaque handle (a pidfd for the
// kernel) that names this process and no later one with the same pid.
struct ProcessHandle {
  pid_t pid = 0;
  int handle = -1;
  // When it started (/proc/PID/stat field 22, clock ticks after boot): with the pid, what
  // names this process in the state file a restarted supervisor reads. 0 when unknown.
  std::uint64_t start_time = 0;
  // The child's own cgroup (a path in the cgroup2 file system), which holds every process
  // it started; "" when it runs in a process group instead (see System::process_tracking).
  std::string cgroup;
  bool valid() const { return handle >= 0; }
};

// How the processes of a child are kept together.
struct ProcessTracking {
  bool cgroups = false;     // a cgroup per child; else process groups (a double fork escapes)
  std::string description;  // "cgroup v2: PATH" or "process groups: WHY"
};

// A process to take back under supervision (System::adopt): one this supervisor's earlier
// process (before a crash, a restart or a re-exec) started, as its state file names it.
struct Adoption {
  pid_t pid = 0;
  std::uint64_t start_time = 0;
  // A pidfd for it handed back by the service manager's store or kept across execve(),
  // or -1. adopt() takes it over (closes it on failure).
  int fd = -1;
};

// A file descriptor the service manager handed back (its fd store), with its name.
struct StoredHandle {
  std::string name;
  int fd = -1;
};

// How a process ended.
struct ExitStatus {
  bool killed = false;  // by a signal (`code` is its number), else exited (`code` is its status)
  int code = 0;
  // False for an adopted process that is not our child (a supervisor before this one
  // started it, and someone else reaped it) when the kernel kept no status for us: then
  // `killed` and `code` mean nothing, and nothing may be made up for them.
  bool known = true;
  // Killed by a signal that dumped core (CLD_DUMPED, WCOREDUMP).
  bool dumped = false;
  // The status as the core keeps it: the exit code, -N for signal N, kUnknown.
  static constexpr int kUnknown = -2147483647 - 1;  // INT32_MIN
  int as_int() const { return !known ? kUnknown : killed ? -code : code; }
};

// How a helper program the supervisor ran for itself (System::run_tool) ended.
struct ToolResult {
  ExitStatus status;
  // Its stdout and stderr, interleaved as written: the first kMaxToolOutput bytes.
  std::string output;
  static constexpr std::size_t kMaxToolOutput = 4096;
};

class System {
 public:
  virtual ~System() = default;

  // The monotonic clock every deadline of the core is measured on.
  virtual Clock::time_point now() = 0;
  // Asks for `on_wakeup` (see set_wakeup_handler) to run at or soon after `when`; replaces
  // the previous request. Clock::time_point::max() cancels it. The core's TimerQueue keeps
  // every deadline and asks only for the earliest: one kernel timer for all of them.
  virtual void wake_at(Clock::time_point when) = 0;
  virtual void set_wakeup_handler(std::function<void()> on_wakeup) = 0;

  // Starts a process as spawn_process() does (os/spawn.hpp), its stdout and stderr to the
  // journal under `log_identifier` when journald is there (else inherited), in a cgroup of
  // its own named after `log_identifier` (the child's name) when process_tracking() has
  // cgroups (processes left there by an earlier start are killed first, with a warning;
  // when the cgroup cannot be made the process starts without one, with a warning). `on_exit` runs
  // from the loop when the process has ended (then call reap()). Failure: as
  // spawn_process(), or step "epoll_ctl" (ENOMEM, ENOSPC) when the process cannot be
  // watched, in which case it has been killed and reaped; nothing to release.
  virtual mlock::Result<ProcessHandle, SpawnError> spawn(const SpawnRequest& request,
                                                         const std::string& log_identifier,
                                                         std::function<void()> on_exit) = 0;
  // The exit status of `process` once it has ended (collecting it: a second call after
  // success returns nullopt); nullopt while it runs. Never blocks.
  virtual std::optional<ExitStatus> reap(const ProcessHandle& process) = 0;
  // Sends `signo` to every other process of its cgroup (SIGKILL: cgroup.kill, all at once),
  // or without one to its process group, and to the process itself through its handle,
  // which cannot reach a recycled pid. Returns 0, or the errno of the direct signal (ESRCH
  // counts as success: it is already exiting); `group_error` gets the errno of the
  // cgroup's or group's signal (0 when fine).
  virtual int signal(const ProcessHandle& process, int signo, int& group_error) = 0;
  // Forgets `process`: no more on_exit calls; the handle is closed. A process still
  // running is SIGKILLed and reaped first (only a destructor may need this).
  virtual void release(ProcessHandle& process, bool kill_if_running) = 0;

  // Takes back a process an earlier supervisor started: proves it is the same process
  // (through `adoption.fd` when given, else by pid and start time, re-checked once a pidfd
  // pins it) and watches it as spawn() does: `on_exit` when it ends, then reap(). A process
  // that is not our child (after a crash its parent is the service manager or init) is
  // reaped by someone else; reap() then has its status from the pidfd (PIDFD_INFO_EXIT,
  // Linux 6.15) or, failing that, an unknown one. Failure: why it is not that process (it
  // is never signalled then).
  virtual mlock::Result<ProcessHandle, std::string> adopt(const Adoption& adoption,
                                                          std::function<void()> on_exit) = 0;
  // How children's processes are kept together, decided once at start.
  virtual ProcessTracking process_tracking() = 0;
  // The processes of `process`'s cgroup, itself included, at most kMaxTreeProcesses (the
  // oldest first is not promised); {pid} without a cgroup.
  static constexpr std::size_t kMaxTreeProcesses = 256;
  virtual std::vector<pid_t> processes(const ProcessHandle& process) = 0;
  // After `ended` (the main process of a child) exited and was reaped: the oldest process
  // left in its cgroup, watched as adopt() does (on_exit, reap), with the same cgroup.
  // Failure: why there is none to follow (no cgroup, an empty one).
  virtual mlock::Result<ProcessHandle, std::string> follow(const ProcessHandle& ended,
                                                           std::function<void()> on_exit) = 0;
  // Processes of `process`'s cgroup the kernel's OOM killer ended (memory.events
  // oom_kill), 0 without a cgroup or the memory controller.
  virtual std::uint64_t oom_kills(const ProcessHandle& process) = 0;
  // The cgroup process `pid` is in ("" when unknown): to tell whose a datagram is.
  virtual std::string cgroup_of(pid_t pid) = 0;
  // Its comm (/proc/PID/comm), "" when gone.
  virtual std::string process_name(pid_t pid) = 0;

  // Keeps `process`'s handle open across the execve() of a re-exec (clears close-on-exec),
  // or (`keep` false) closes it on exec again.
  virtual void keep_across_exec(const ProcessHandle& process, bool keep) = 0;

  // The state directory in the runtime directory: what a restarted supervisor needs to
  // find its children again, one small file per key. load_state(): every file, key →
  // text (`errors` gets a line for each that cannot be read). save_state(): replaces the
  // file of `key` atomically (a crash at any moment leaves the old or the new text);
  // returns 0 or the errno. remove_state(): deletes it.
  virtual std::map<std::string, std::string> load_state(std::vector<std::string>& errors) = 0;
  virtual int save_state(const std::string& key, std::string_view text) = 0;
  virtual void remove_state(const std::string& key) = 0;
  // The service manager's file descriptor store (os/fd_store.hpp). take_stored_handles():
  // the handles it passed to this process at start, once. store_handle(): keeps a dup of
  // `process`'s handle there under `name`, replacing what was stored under that name.
  // forget_stored_handle(): removes `name`. Without a service manager: nothing, no error.
  virtual std::vector<StoredHandle> take_stored_handles() = 0;
  virtual void store_handle(const std::string& name, const ProcessHandle& process) = 0;
  virtual void forget_stored_handle(const std::string& name) = 0;
  // Closes a descriptor the core was handed and does not use.
  virtual void close_handle(int fd) = 0;
  // The wall clock, for times shown to people (adopted since, started at).
  virtual std::chrono::system_clock::time_point wall_now() = 0;
  // The random id of this boot: a start time in a state file means nothing on another.
  virtual std::string boot_id() = 0;
  // This process's pid: a state file written by our own pid is one from a re-exec.
  virtual pid_t own_pid() = 0;

  // Runs a helper program for the supervisor itself (mkswap, swapon, swapoff): argv[0] an
  // absolute path, environment LANG=C only, stdin /dev/null, stdout and stderr into one
  // memory file read once it has ended (so a chatty tool never blocks on a pipe), in the
  // supervisor's own cgroup (never a child's). `on_exit` runs from the loop, once, after it
  // ended and was reaped. Returns an id for release_tool(), or the error of the start.
  virtual mlock::Result<int, SpawnError> run_tool(const std::vector<std::string>& argv,
                                                  std::function<void(ToolResult)> on_exit) = 0;
  // Forgets helper `id`: on_exit will not run. `kill`: SIGKILL it first. A helper still
  // running is reaped when it ends (it may be stuck in the kernel: nothing waits for it).
  virtual void release_tool(int id, bool kill) = 0;
  // The text of /proc/swaps (the active swap areas), or the errno of the read.
  virtual mlock::Result<std::string, int> read_proc_swaps() = 0;

  // Memory figures of process `pid` from /proc/PID/status (VmLck, VmRSS, VmSwap, VmPin),
  // as duende::mlock::inspect(pid, false): cheap, no smaps walk (coverage_checked false).
  virtual mlock::Result<mlock::ProcessMemory, mlock::InspectError> inspect(pid_t pid) = 0;
  // The figures only a walk of /proc/PID/smaps gives (the coverage counts, Locked:, the Rss
  // of unlocked mappings, Swap: with shared memory, the first unlocked mapping) and the soft
  // memlock limit, as duende::mlock::inspect_detail(): ONE walk, the costly part of a full
  // check, which is therefore inspect() + inspect_detail(), never inspect(pid, true).
  virtual mlock::Result<mlock::MemoryDetail, mlock::InspectError> inspect_detail(pid_t pid) = 0;
  // Which threads of `pid` carry PF_MEMALLOC_NOIO|PF_LOCAL_THROTTLE (PR_SET_IO_FLUSHER), as
  // duende::mlock::inspect_io_flusher(): one read of /proc/PID/task/TID/stat per thread.
  virtual mlock::Result<mlock::IoFlusherThreads, mlock::InspectError> inspect_io_flusher(
      pid_t pid) = 0;
  // How many file descriptors the process may have open (the soft RLIMIT_NOFILE).
  virtual std::uint64_t fd_limit() = 0;
  // The descriptors the configuration leaves over (fd_limit() less what the fd budget
  // reserves): the system may use up to half of them to keep the files of the monitor
  // rounds open (inspect(), processes()). Told at start and after each reload.
  virtual void set_spare_fds(std::uint64_t spare) { (void)spare; }
  // The supervisor's effective uid (a child without "user" runs as it).
  virtual uid_t effective_uid() = 0;
  // The home directory of user `uid` from NSS, "" when unknown.
  virtual std::string user_home(uid_t uid) = 0;
  // Hands freed heap back to the kernel (malloc_trim): under MCL_FUTURE it stays locked.
  virtual void trim_heap() = 0;

  // Sends `state` (sd_notify format) to the service manager, never blocking. Returns 0 when
  // sent or when there is no service manager, else the errno (EAGAIN: its queue is full).
  virtual int notify_service_manager(std::string_view state) = 0;
  // The watchdog period the service manager asked for (WATCHDOG_USEC for this pid), or
  // nullopt when none.
  virtual std::optional<std::chrono::microseconds> watchdog_period() = 0;
};

}  // namespace duende::supervisor
