// The FUSE low-level operations of the one-file file system: a root directory (inode 1)
// holding "image" (inode 2), whose bytes are the Image passed as userdata.
#pragma once

#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

namespace ramswap {

// The operation table for fuse_session_new(); its userdata must be the Image (Image*).
// Every request is answered at once from memory: none allocates, none blocks.
const fuse_lowlevel_ops& image_operations();

}  // namespace ramswap
