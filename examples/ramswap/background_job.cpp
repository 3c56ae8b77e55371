// BackgroundJob: a short-lived pthread with a small stack, and an eventfd for its end.
#include "background_job.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace ramswap {

using duende::mlock::Result;
using duende::mlock::Unexpected;

namespace {
constexpr std::size_t kStackSize = 256 * 1024;
}

BackgroundJob::~BackgroundJob() {
  if (running_) join();
  if (done_fd_ >= 0) ::close(done_fd_);
}

Result<void, std::string> BackgroundJob::start(std::function<void()> job) {
  if (done_fd_ < 0) done_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (done_fd_ < 0) return Unexpected(std::string("eventfd: ") + std::strerror(errno));
  job_ = std::move(job);
  pthread_attr_t attr;
  ::pthread_attr_init(&attr);
  ::pthread_attr_setstacksize(&attr, kStackSize);
  const int e = ::pthread_create(&thread_, &attr, &BackgroundJob::run, this);
  ::pthread_attr_destroy(&attr);
  if (e != 0) return Unexpected(std::string("pthread_create: ") + std::strerror(e));
  running_ = true;
  return {};
}

void* BackgroundJob::run(void* self) {
  auto* job = static_cast<BackgroundJob*>(self);
  job->job_();
  const std::uint64_t one = 1;
  static_cast<void>(::write(job->done_fd_, &one, sizeof one));
  return nullptr;
}

void BackgroundJob::join() {
  ::pthread_join(thread_, nullptr);
  running_ = false;
  std::uint64_t count = 0;
  static_cast<void>(::read(done_fd_, &count, sizeof count));
}

}  // namespace ramswap
