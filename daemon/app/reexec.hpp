// Re-exec in place (`mlockctl reexec`, D-Bus Manager.Reexec(), SIGUSR2): the supervisor
// replaces its own image with the binary at its path (a new one after an upgrade) and
// keeps its pid, so its children stay its real children and nothing is restarted.
//
//   1. The binary is checked first: `BINARY --check-config` with the same options, in a
//      child, at most kCheckTimeout. A binary that does not run, or a configuration it
//      rejects, refuses the re-exec: the old image goes on, ReexecFailure says why.
//   2. The state directory is written with every child's pidfd and the notify socket
//      kept open across execve() (core/supervisor_adopt.cpp); the bus connection closes.
//   3. execve(). If it fails, the old image takes everything back and goes on.
//   4. The new image finds the state written by its own pid, takes over the notify socket
//      and the pidfds, and adopts every child (they are still its children: exit statuses
//      keep working); its bus name comes back.
// Should the new image fail after execve() (it cannot: step 1 ran it), it exits and the
// children are adopted by the next start (Restart=on-failure), as after a crash.
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/reexec_control.hpp"
#include "core/supervisor.hpp"
#include "os/event_loop.hpp"
#include "os/notify_socket.hpp"

namespace duende::supervisor {

// The path of the running binary, read at start (before an upgrade can replace it).
std::string own_executable();

// The children's RLIMIT_NOFILE a re-exec handed on (MLOCK_SUPERVISOR_CHILD_NOFILE, then
// removed from the environment): the supervisor's own soft limit is the raised one by then.
std::optional<rlimit> take_kept_child_nofile();

class Reexecutor final : public ReexecControl {
 public:
  // `argv`: the command line to exec again (argv[0] included). `before_exec` closes what
  // must not outlive the image (the bus connection); `after_failed_exec` re-opens it.
  Reexecutor(EventLoop& loop, Supervisor& supervisor, NotifySocket& notify_socket,
             std::string executable, std::vector<std::string> argv, rlimit child_nofile,
             std::function<void()> before_exec, std::function<void()> after_failed_exec);
  ~Reexecutor();

  mlock::Result<void, std::string> request_reexec(const std::string& who) override;
  const std::string& reexec_failure() const override { return failure_; }
  // The pid of the binary's check under way (reaped here, by nobody else), or -1.
  pid_t check_pid() const { return check_pid_; }

  static constexpr std::chrono::seconds kCheckTimeout{30};

 private:
  void on_check_exit();
  void on_check_timeout();
  void fail(const std::string& why);
  void exec_now();
  void end_check();

  EventLoop& loop_;
  Supervisor& supervisor_;
  NotifySocket& notify_socket_;
  std::string executable_;
  std::vector<std::string> argv_;
  rlimit child_nofile_;
  std::function<void()> before_exec_;
  std::function<void()> after_failed_exec_;
  std::string failure_;
  // The check under way: its process and where its output goes.
  pid_t check_pid_ = -1;
  int check_pidfd_ = -1;
  int check_output_ = -1;
  std::unique_ptr<FdTimer> check_timer_;
};

}  // namespace duende::supervisor
