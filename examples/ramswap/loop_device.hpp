// The loop device over the image file: attached with direct I/O, so the kernel's swap
// I/O goes to ramswap's memory and never through the page cache, and detached again.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "duende/result.hpp"

namespace ramswap {

struct LoopDevice {
  std::string path;  // "/dev/loop7"
  int fd = -1;       // held open for the device's life: LOOP_CLR_FD needs it
  dev_t rdev = 0;
  std::string how;  // which ioctls configured it, for the log
};

// Attaches a loop device to `backing_file` with LO_FLAGS_DIRECT_IO, LO_FLAGS_AUTOCLEAR
// (a crashed ramswap's device goes away once nobody uses it) and 4 KiB logical blocks.
// `wanted` is "auto" (a free device from /dev/loop-control, LOOP_CTL_GET_FREE; retried
// when another process takes it first) or "/dev/loopN". Uses LOOP_CONFIGURE; where the
// kernel refuses it (EINVAL/ENOTTY, before Linux 5.8) LOOP_SET_FD + LOOP_SET_STATUS64 +
// LOOP_SET_BLOCK_SIZE + LOOP_SET_DIRECT_IO, and says so in `how`. Fails, detaching again,
// when the kernel did not turn direct I/O on.
// Blocks on FUSE requests (opening the file, the kernel's getattr): never call it from
// the thread that serves the file system.
duende::mlock::Result<LoopDevice, std::string> attach_loop(const std::string& backing_file,
                                                           const std::string& wanted);

// LOOP_CLR_FD and close: the device is gone at once, or (AUTOCLEAR) as soon as its last
// other opener closes it. Blocks on FUSE requests (the device's last close flushes it):
// never from the thread that serves the file system.
duende::mlock::Result<void, std::string> detach_loop(LoopDevice& device);

// True when /proc/swaps lists `device` (by name, or any block device with its rdev: swap
// may have been turned on through a symlink). False when /proc/swaps is unreadable.
bool swap_is_on(const LoopDevice& device);

// The Filename column of /proc/swaps text, octal escapes ("\040") decoded. Pure.
std::vector<std::string> swap_area_names(std::string_view proc_swaps);

}  // namespace ramswap
