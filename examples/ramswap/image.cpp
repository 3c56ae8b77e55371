// The image's memory and the process-wide lock that keeps it in RAM.
#include "image.hpp"

#include <sys/mman.h>
#include <sys/prctl.h>

#include <cerrno>
#include <cstring>

#include "options.hpp"

#ifndef PR_GET_IO_FLUSHER
#define PR_GET_IO_FLUSHER 58
#endif

namespace ramswap {

using duende::mlock::MlockConfig;
using duende::mlock::Result;
using duende::mlock::Unexpected;

Result<Image, std::string> Image::map(std::uint64_t size) {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return Unexpected("mmap of " + format_size(size) + ": " + std::strerror(errno));
  // A fork() (any library's popen(), say) would make the image copy-on-write, and the
  // next write of a swapped-out page would then need a new page from the kernel: the one
  // allocation a swap device must not make. The image stays out of every child.
  ::madvise(p, size, MADV_DONTFORK);
  return Image(static_cast<std::byte*>(p), size);
}

Image::Image(Image&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

Image::~Image() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

bool become_io_flusher() {
  // Not required, and neither current nor future: the library only tries the prctl (a
  // refusal is ignored) and locks nothing, so no lock report goes out yet; the lock
  // itself comes in lock_memory(), whose report is the one a supervisor reads.
  const auto config =
      MlockConfig::builder().current(false).future(false).required(false).io_flusher(true).build();
  static_cast<void>(duende::mlock::lock_with_config(config));
  return ::prctl(PR_GET_IO_FLUSHER, 0, 0, 0, 0) == 1;
}

Result<duende::mlock::MlockStatus, duende::mlock::MlockError> lock_memory() {
  // Fixed, not read from DUENDE_MLOCK_*: with MCL_ONFAULT the image's pages would be
  // allocated at the first swap-out that touches them, under memory pressure, and an
  // unrequired lock could leave a swap device unlocked.
  const auto config = MlockConfig::builder()
                          .current(true)
                          .future(true)
                          .onfault(false)
                          .required(true)
                          .retain_heap(true)
                          .build();
  return duende::mlock::lock_with_config(config);
}

}  // namespace ramswap
