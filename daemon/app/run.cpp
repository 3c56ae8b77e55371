#include "app/run.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <system_error>

#include "api/human_size.hpp"
#include "bus/bus_service.hpp"
#include "core/supervisor.hpp"
#include "duende/mlock.hpp"
#include "os/event_loop.hpp"
#include "os/kernel_system.hpp"
#include "os/log.hpp"
#include "os/notify_socket.hpp"

namespace duende::supervisor {
namespace {

using mlock::Unexpected;

ConfigSources effective_sources(const Options& options) {
  ConfigSources s = options.sources;
  s.check_ownership = ::geteuid() == 0;
  return s;
}

Unexpected<RunError> os_error(const std::string& what, int error_number) {
  return Unexpected(RunError{RunError::Kind::Os, what + ": " + std::strerror(error_number)});
}

mlock::Result<std::string, RunError> runtime_directory() {
  const char* env = std::getenv("RUNTIME_DIRECTORY");  // may list several, ':'-separated
  std::string dir = env && *env ? std::string(env).substr(0, std::string(env).find(':'))
                                : "/run/mlock-supervisor";
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return os_error("mkdir " + dir, errno);
  return dir;
}

// Locks the supervisor itself per self.mlock; a required lock that failed is an error.
mlock::Result<void, RunError> lock_self(const mlock::MlockConfig& config) {
  const auto status = mlock::lock_with_config(config);
  if (!status)
    return Unexpected(
        RunError{RunError::Kind::Lock, "cannot lock the supervisor: " + status.error().message()});
  if (status->is_locked())
    log_info("supervisor locked: VmLck " + human_size(mlock::locked_bytes()));
  else
    log_warning("supervisor not locked: " + status->to_string());
  return {};
}

// Blocks the signals the loop reads from a signalfd; returns the signalfd.
mlock::Result<int, RunError> open_signalfd() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return os_error("sigprocmask", errno);
  signal(SIGPIPE, SIG_IGN);
  const int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) return os_error("signalfd", errno);
  return fd;
}

// Everything run() sets up before the loop, owned in the order it is torn down.
struct Daemon {
  EventLoop loop;
  KernelSystem system{loop};
};

}  // namespace

std::string ConfigSummary::to_string() const {
  std::string order;
  for (const auto& name : start_order) order += (order.empty() ? "" : ", ") + name;
  return "configuration OK: " + std::to_string(children) + " child(ren)" +
         (order.empty() ? "" : "; start order: " + order);
}

mlock::Result<ConfigSummary, std::vector<ConfigProblem>> check_config(const Options& options) {
  ConfigResult config = load_config(effective_sources(options));
  if (!config) return Unexpected(std::move(config.error()));
  return ConfigSummary{config->children.size(), config->start_order};
}

mlock::Result<void, RunError> run(const Options& options) {
  const ConfigSources sources = effective_sources(options);
  ConfigResult config = load_config(sources);
  if (!config) {
    for (const ConfigProblem& p : config.error()) log_error(p.to_string());
    const std::string summary =
        "invalid configuration: " + std::to_string(config.error().size()) + " problem(s)";
    log_error(summary);
    return Unexpected(RunError{RunError::Kind::Config, summary});
  }
  if (auto locked = lock_self(config->self_mlock); !locked) {
    log_error(locked.error().message);
    return locked;
  }
  const auto fail = [](RunError e) {
    log_error(e.message);
    return Unexpected(std::move(e));
  };
  auto dir = runtime_directory();
  if (!dir) return fail(dir.error());
  auto notify_socket = NotifySocket::bind(*dir + "/notify");
  if (!notify_socket)
    return fail(RunError{RunError::Kind::Os, "notify socket: " + notify_socket.error()});
  auto sfd = open_signalfd();
  if (!sfd) return fail(sfd.error());
  std::unique_ptr<Daemon> daemon;
  try {
    daemon = std::make_unique<Daemon>();
  } catch (const std::system_error& e) {
    ::close(*sfd);
    return fail(RunError{RunError::Kind::Os, e.what()});
  }
  EventLoop& loop = daemon->loop;
  Supervisor supervisor(
      daemon->system, std::move(*config), [sources] { return load_config(sources); },
      notify_socket->path(), options.preload_path);
  supervisor.set_on_finished([&loop] { loop.quit(0); });
  loop.add(notify_socket->fd(), EPOLLIN, [&](std::uint32_t) {
    for (const Datagram& d : notify_socket->receive_all()) supervisor.on_datagram(d);
  });
  loop.add(*sfd, EPOLLIN, [&](std::uint32_t) {
    signalfd_siginfo info;
    while (::read(*sfd, &info, sizeof info) == sizeof info) {
      if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT)
        supervisor.shutdown();
      else if (info.ssi_signo == SIGHUP)
        (void)supervisor.reload();
    }
  });
  log_notice("mlock-supervisor " MLOCK_SUPERVISOR_VERSION " starting " +
             std::to_string(supervisor.children().size()) + " children");
  supervisor.start();  // supervision first: the bus may be absent, and must never delay it
  BusService bus(loop, supervisor);
  loop.run([&] {
    supervisor.collect_garbage();
    bus.before_sleep();
  });
  loop.remove(*sfd);
  loop.remove(notify_socket->fd());
  ::close(*sfd);
  return {};
}

}  // namespace duende::supervisor
