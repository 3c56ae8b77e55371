// The block image: anonymous memory of a fixed size, locked and populated before any of
// it is served, so serving a swap-out never needs a page from the kernel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "duende/mlock.hpp"

namespace ramswap {

class Image {
 public:
  // Maps `size` bytes (private, anonymous, zeroed). Not yet locked: lock_memory() does
  // that for the whole process, this mapping included. Error: "mmap of 128 MiB: <errno>".
  static duende::mlock::Result<Image, std::string> map(std::uint64_t size);

  Image(Image&& other) noexcept;
  Image& operator=(Image&&) = delete;
  ~Image();

  std::byte* data() const noexcept { return data_; }
  std::uint64_t size() const noexcept { return size_; }

 private:
  Image(std::byte* data, std::uint64_t size) noexcept : data_(data), size_(size) {}
  std::byte* data_;
  std::uint64_t size_;
};

// Asks for PR_SET_IO_FLUSHER through the library (MlockConfig::io_flusher, best effort):
// the kernel then keeps this process's allocations from recursing into block I/O, which
// a block device server needs. True when the flag is set now. Needs CAP_SYS_RESOURCE.
bool become_io_flusher();

// Locks the process through the library: current and future pages, required, without
// MCL_ONFAULT (so every page of the image is populated and pinned now), heap retained
// (freed memory stays with the process). Sends the library's lock report when
// DUENDE_MLOCK_REPORT=1. The library's error (with its fix) on failure.
duende::mlock::Result<duende::mlock::MlockStatus, duende::mlock::MlockError> lock_memory();

}  // namespace ramswap
