// The serving loop. One thread polls /dev/fuse, a signalfd and, while the loop device is
// being attached or detached, that job's eventfd. libfuse's fuse_session_loop() would do
// the FUSE half alone; its SIGTERM handler ends the loop for good, and a signal landing
// between its exit check and read() goes unnoticed until the next request. Here a signal
// is one more readable fd, and a stop can be refused.
#include "ramswap.hpp"

#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "background_job.hpp"
#include "fuse_server.hpp"
#include "image.hpp"
#include "log.hpp"
#include "loop_device.hpp"
#include "ready_report.hpp"

namespace ramswap {

using duende::mlock::Result;
using duende::mlock::Unexpected;

namespace {

Unexpected<Failure> start_failure(std::string message) {
  return Unexpected(Failure{Failure::Kind::Start, std::move(message)});
}

struct SignalFd {
  int fd = -1;
  ~SignalFd() {
    if (fd >= 0) ::close(fd);
  }
};

// SIGTERM and SIGINT arrive on a signalfd; blocked before any thread starts, so the job
// threads inherit the mask and never take them. SIGPIPE (stdout closed) is ignored.
bool open_signal_fd(SignalFd& signals) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  ::signal(SIGPIPE, SIG_IGN);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return false;
  signals.fd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  return signals.fd >= 0;
}

// Takes the pending signal off the signalfd; its name for the log.
const char* take_signal(int signal_fd) {
  signalfd_siginfo info{};
  if (::read(signal_fd, &info, sizeof info) != sizeof info) return "a signal";
  return info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM";
}

enum class Event { JobDone, Signal, Unmounted };

// Serves FUSE requests until a signal is pending, the job (job_fd >= 0) ends, or the
// session ends. Requests first in each round: a job may be waiting for one.
Event serve_until_event(FuseServer& fuse, int signal_fd, int job_fd) {
  pollfd fds[] = {{fuse.fd(), POLLIN, 0}, {signal_fd, POLLIN, 0}, {job_fd, POLLIN, 0}};
  for (;;) {
    if (::poll(fds, job_fd >= 0 ? 3 : 2, -1) < 0) {
      if (errno == EINTR) continue;
      return Event::Unmounted;
    }
    if ((fds[0].revents & POLLIN) && !fuse.serve_one()) return Event::Unmounted;
    if (!(fds[0].revents & POLLIN) && (fds[0].revents & (POLLERR | POLLHUP)))
      return Event::Unmounted;
    if (job_fd >= 0 && fds[2].revents) return Event::JobDone;
    if (fds[1].revents) return Event::Signal;
  }
}

// Runs `job` on a BackgroundJob while serving FUSE; a stop signal in the meantime is
// noted in `stop_requested`. A job blocked on a request of a session that ended is
// released by the kernel (ENOTCONN), so the join below never waits forever.
Result<void, std::string> run_while_serving(FuseServer& fuse, int signal_fd,
                                            std::function<void()> job, bool& stop_requested) {
  BackgroundJob background;
  if (auto started = background.start(std::move(job)); !started) return started;
  for (Event e; (e = serve_until_event(fuse, signal_fd, background.done_fd())) != Event::JobDone;) {
    if (e == Event::Unmounted) break;
    log_line(std::string(take_signal(signal_fd)) + ": will stop when the loop device is set up");
    stop_requested = true;
  }
  background.join();
  return {};
}

// Serves until a stop signal comes while no swap is on `device`. A stop asked for while
// swap is on is refused: the kernel would lose every page in it. False when the file
// system was unmounted from outside.
bool serve_until_stop(FuseServer& fuse, int signal_fd, const LoopDevice& device, bool stop) {
  for (;;) {
    if (stop && !swap_is_on(device)) return true;
    if (stop) {
      log_line("swap is still on " + device.path + ": swapoff first");
      notify(refused_stop_message(device.path));
    }
    if (serve_until_event(fuse, signal_fd, -1) == Event::Unmounted) return false;
    log_line(std::string(take_signal(signal_fd)) + ": asked to stop");
    stop = true;
  }
}

void announce(const LoopDevice& device, std::uint64_t size) {
  log_line("serving " + format_size(size) + " on " + device.path + " (attached with " + device.how +
           ", direct I/O)");
  notify(ready_message(device.path, size));
  std::printf("%s\n", device.path.c_str());
  std::fflush(stdout);
}

void report_io_flusher() {
  if (become_io_flusher())
    log_line("PR_SET_IO_FLUSHER set");
  else
    log_line("PR_SET_IO_FLUSHER not set (it needs CAP_SYS_RESOURCE): going on without it");
}

// The part of run() after the mount: attach, serve, detach.
Result<void, Failure> serve(FuseServer& fuse, int signal_fd, const Options& options) {
  bool stop = false;
  Result<LoopDevice, std::string> device = Unexpected(std::string("not attached"));
  auto attach = [&] { device = attach_loop(fuse.image_path(), options.loop); };
  if (auto ran = run_while_serving(fuse, signal_fd, attach, stop); !ran)
    return start_failure(ran.error());
  if (!device) return start_failure(device.error());
  announce(*device, options.size_bytes);
  const bool served = serve_until_stop(fuse, signal_fd, *device, stop);
  notify(stopping_message(device->path));
  Result<void, std::string> detached{};
  auto detach = [&] { detached = detach_loop(*device); };
  if (auto ran = run_while_serving(fuse, signal_fd, detach, stop); !ran) detach();
  if (!detached) log_line(detached.error());
  if (!served)
    return Unexpected(Failure{Failure::Kind::Lost, "the file system was unmounted from outside"});
  log_line("detached " + device->path + ", unmounting " + options.mount_dir);
  return {};
}

}  // namespace

Result<void, Failure> run(const Options& options) {
  // One malloc arena for every thread: a job thread's own arena would be a 64 MiB
  // reservation, and under MCL_FUTURE reservations count as locked memory.
  ::mallopt(M_ARENA_MAX, 1);
  make_output_nonblocking();
  report_io_flusher();
  auto image = Image::map(options.size_bytes);
  if (!image) return start_failure(image.error());
  const auto lock = lock_memory();
  if (!lock) return Unexpected(Failure{Failure::Kind::Lock, lock.error().message()});
  log_line("memory " + lock->to_string() + ", image " + format_size(image->size()));
  SignalFd signals;
  if (!open_signal_fd(signals))
    return start_failure(std::string("signalfd: ") + std::strerror(errno));
  auto fuse = FuseServer::mount(*image, options.mount_dir);
  if (!fuse) return start_failure(fuse.error());
  return serve(**fuse, signals.fd, options);
}

}  // namespace ramswap
