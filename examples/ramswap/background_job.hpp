// One blocking job run beside the FUSE loop. Attaching and detaching the loop device
// make the kernel send FUSE requests (open, getattr, the flush of the device's last
// close) and wait for the answers, so the thread that serves them cannot make those
// calls itself. The job gets a thread of its own for as long as it runs.
#pragma once

#include <pthread.h>

#include <functional>
#include <string>

#include "duende/result.hpp"

namespace ramswap {

class BackgroundJob {
 public:
  BackgroundJob() = default;
  BackgroundJob(const BackgroundJob&) = delete;
  BackgroundJob& operator=(const BackgroundJob&) = delete;
  // Joins a job still running (blocking), then closes the eventfd.
  ~BackgroundJob();

  // Starts `job` on a new thread with a 256 KiB stack: under MCL_FUTURE every stack is
  // populated and pinned, and glibc's default is 8 MiB. Error: the errno of eventfd() or
  // pthread_create(), as text. One job at a time.
  duende::mlock::Result<void, std::string> start(std::function<void()> job);

  // Readable (POLLIN) once the job has returned; -1 before the first start().
  int done_fd() const noexcept { return done_fd_; }

  // Waits for the thread (at once, when done_fd() was readable) and resets done_fd().
  void join();

  bool running() const noexcept { return running_; }

 private:
  static void* run(void* self);
  std::function<void()> job_;
  pthread_t thread_{};
  int done_fd_ = -1;
  bool running_ = false;
};

}  // namespace ramswap
