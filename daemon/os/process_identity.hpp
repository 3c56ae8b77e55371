// Recognising a process again after the supervisor restarted: its start time from
// /proc/PID/stat (which, with the pid, names one process for the life of the boot), the
// pid a pidfd refers to, and the exit status the kernel keeps in a pidfd of a process that
// someone else reaped.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "duende/result.hpp"

namespace duende::supervisor {

// Field 22 of /proc/PID/stat: when the process started, in clock ticks after boot.
// nullopt when there is no such process (or /proc cannot be read).
std::optional<std::uint64_t> process_start_time(pid_t pid);

// The random id of this boot (/proc/sys/kernel/random/boot_id), "" when unreadable:
// a start time means nothing on another boot.
std::string boot_id();

// The pid that pidfd `fd` refers to ("Pid:" of /proc/self/fdinfo/FD): > 0 while the
// process exists (running or a zombie), 0 when it has been reaped, -1 when `fd` is not a
// pidfd.
pid_t pidfd_pid(int fd);

// Opens a pidfd for `pid` and proves that it is the process that started at
// `start_time`: the start time is read again after the pidfd exists, so a pid reused in
// between cannot slip through. Failure: why it is not that process ("no such process",
// "pid 123 is another process now (start time 456, expected 789)").
mlock::Result<int, std::string> open_process(pid_t pid, std::uint64_t start_time);

// Checks that pidfd `fd` (handed back by the service manager, or across execve) refers
// to the live process `pid` that started at `start_time`. Failure: why not.
mlock::Result<void, std::string> check_pidfd(int fd, pid_t pid, std::uint64_t start_time);

// The wait status (as waitpid's) of the process behind pidfd `fd` once it has been reaped,
// from PIDFD_GET_INFO with PIDFD_INFO_EXIT (Linux 6.15); nullopt while it is not reaped,
// or on a kernel without it.
std::optional<int> pidfd_exit_status(int fd);

}  // namespace duende::supervisor
