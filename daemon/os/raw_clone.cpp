// The assembly of raw_clone3() (raw_clone.hpp), for x86-64, the architecture it is tested on;
// elsewhere raw_clone3() says ENOSYS and spawn_process() uses clone() and a write to
// cgroup.procs, as before. After the system call the kernel has given the child the new
// stack and copied the caller's registers, so r8 and r9, which carry fn and arg across it
// (syscall clobbers only rax, rcx and r11), are all the child needs. The child clears the
// frame pointer (it has no caller), calls fn(arg) and exits with its result; it never
// returns into the caller's frames.
#include "os/raw_clone.hpp"

#include <errno.h>
#include <sys/syscall.h>

namespace duende::supervisor::spawn_detail {

#if defined(__x86_64__)
extern "C" long duende_clone3_entry(clone_args* args, std::size_t size, int (*fn)(void*),
                                    void* arg);

// rdi = args, rsi = size, rdx = fn, rcx = arg. The kernel sets the child's rsp to the top of
// the new stack (16-byte aligned), so the call below gives fn the alignment the ABI wants.
asm(R"(
  .text
  .globl duende_clone3_entry
  .hidden duende_clone3_entry
  .type duende_clone3_entry, @function
  .p2align 4
duende_clone3_entry:
  .cfi_startproc
  endbr64
  mov %rdx, %r8
  mov %rcx, %r9
  mov $435, %eax
  syscall
  test %rax, %rax
  jz 1f
  ret
1:
  .cfi_undefined rip
  xor %ebp, %ebp
  mov %r9, %rdi
  call *%r8
  mov %eax, %edi
  mov $60, %eax
  syscall
  hlt
  .cfi_endproc
  .size duende_clone3_entry, .-duende_clone3_entry
)");
static_assert(SYS_clone3 == 435, "the assembly above calls clone3 as number 435");

long raw_clone3(clone_args* args, std::size_t size, int (*fn)(void*), void* arg) {
  const long result = duende_clone3_entry(args, size, fn, arg);
  if (result < 0 && result > -4096) {
    errno = static_cast<int>(-result);
    return -1;
  }
  return result;
}
#else
long raw_clone3(clone_args*, std::size_t, int (*)(void*), void*) {
  errno = ENOSYS;
  return -1;
}
#endif

}  // namespace duende::supervisor::spawn_detail
