// clone3() with a function to run on a new stack, as glibc's clone() does for clone(): glibc
// 2.36 exports no clone3(), and a child that shares the caller's memory (CLONE_VM) cannot
// return from the system call into the caller's frames, so a few lines of assembly start
// it on its own stack. Internal to spawn.cpp.
//
// Why clone3: CLONE_INTO_CGROUP starts the child in its cgroup (Linux 5.7). Moving it there
// afterwards, by writing to cgroup.procs, takes the cgroup threadgroup lock for writing,
// which waits for an RCU grace period: about 12 ms per start on an idle machine, most of a
// restart's latency.
#pragma once

#include <linux/sched.h>  // struct clone_args, CLONE_INTO_CGROUP

#include <cstddef>

namespace duende::supervisor::spawn_detail {

// clone3(args, size): in the child, runs fn(arg) on the stack args->stack ..
// args->stack + args->stack_size and then _exit()s with its return value; in the caller,
// returns the child's pid, or -1 with errno set. ENOSYS on an architecture without the
// assembly (only x86-64 has it) as on a kernel or seccomp filter without clone3.
long raw_clone3(clone_args* args, std::size_t size, int (*fn)(void*), void* arg);

}  // namespace duende::supervisor::spawn_detail
