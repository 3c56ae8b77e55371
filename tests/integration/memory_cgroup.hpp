// A memory cgroup of the test's own, with a limit, to put memory pressure on the
// processes moved into it: the v1 "memory" hierarchy where one is mounted (a hybrid host),
// else a cgroup v2 hierarchy whose root offers the memory controller (memory.max). Chosen
// at run time; the name is unique (pid and a counter), so tests never share one.
//
// v1: a child of this process's own memory cgroup (the hierarchy and its accounting stay
// as they were). v2: a child of the hierarchy's root, the one cgroup that may hold
// processes and hand controllers down at the same time.
//
// The destructor removes it on every path: whatever is still in it is SIGKILLed (only the
// test's processes are ever put there), it waits (bounded) for it to empty, then rmdir.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace duende::itest {

class MemoryCgroup {
 public:
  // Makes the cgroup with memory limit `limit_bytes`; nullptr with `why_not` set when
  // this host has no usable memory controller (or the writes fail).
  static std::unique_ptr<MemoryCgroup> make(std::uint64_t limit_bytes, std::string& why_not);
  ~MemoryCgroup();
  MemoryCgroup(const MemoryCgroup&) = delete;
  MemoryCgroup& operator=(const MemoryCgroup&) = delete;

  const std::string& path() const { return path_; }
  // "cgroup v1 memory" or "cgroup v2".
  std::string kind() const { return v1_ ? "cgroup v1 memory" : "cgroup v2"; }
  // Moves process `pid` in (cgroup.procs); false with errno on failure.
  bool add(pid_t pid) const;
  // The processes in it now.
  std::vector<pid_t> processes() const;
  // Whether /proc/PID/cgroup names this cgroup for the memory controller.
  bool contains(pid_t pid) const;
  // memory.limit_in_bytes or memory.max; "unlimited" with limit 0. False on failure.
  bool set_limit(std::uint64_t limit_bytes) const;
  // While on, what is in it cannot grow past its limit by any way out: the kernel may not
  // OOM-kill in it, nor swap its pages out (v1: memory.oom_control 1 and swappiness 0;
  // v2, which has no OOM switch: memory.swap.max 0 and oom_score_adj -1000 for each of its
  // processes, which needs CAP_SYS_RESOURCE). A charge past the limit then fails (ENOMEM):
  // a swapoff that must bring its pages back fails, even with another swap area to move
  // other pages to. Off: the defaults back (oom_score_adj 0), and no process left asleep
  // in the pin's OOM wait (see wake_oom_waiters). False with errno.
  bool pin_at_limit(bool on) const;
  // v1: a process that faulted at the limit while the OOM killer was off sleeps in the
  // kernel's OOM wait until a write to memory.oom_control or a larger limit wakes it; one
  // that reached its sleep only after the last such write sleeps on, for good. While
  // under_oom says someone sleeps there, this writes memory.oom_control again (once at
  // least, then until `deadline`); how many writes it took, -1 if someone still sleeps.
  // v2: 0 (no OOM wait).
  int wake_oom_waiters(std::chrono::milliseconds deadline = std::chrono::milliseconds(10000)) const;
  // Its memory figures in one line, for failure messages (usage, limit, OOM state).
  std::string memory_report() const;
  // Kills what is left, waits for it to empty and removes it (at most `deadline`); true
  // once the directory is gone. Called by the destructor; harmless twice.
  bool remove(std::chrono::milliseconds deadline = std::chrono::milliseconds(10000));
  bool exists() const;

 private:
  MemoryCgroup(std::string path, std::string relative, bool v1)
      : path_(std::move(path)), relative_(std::move(relative)), v1_(v1) {}
  std::string path_;      // in the file system
  std::string relative_;  // as /proc/PID/cgroup shows it
  bool v1_;
};

}  // namespace duende::itest
