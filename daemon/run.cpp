#include "run.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "bus_service.hpp"
#include "duende/mlock.hpp"
#include "human_size.hpp"
#include "log.hpp"
#include "supervisor.hpp"

namespace duende::supervisor {
namespace {

ConfigSources effective_sources(const Options& options) {
  ConfigSources s = options.sources;
  s.check_ownership = ::geteuid() == 0;
  return s;
}

std::string runtime_directory() {
  const char* env = std::getenv("RUNTIME_DIRECTORY");  // may list several, ':'-separated
  std::string dir = env && *env ? std::string(env).substr(0, std::string(env).find(':'))
                                : "/run/mlock-supervisor";
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    throw std::system_error(errno, std::generic_category(), "mkdir " + dir);
  return dir;
}

// Locks the supervisor itself per self.mlock; false (after logging why) when a required
// lock failed.
bool lock_self(const MlockFlags& flags) {
  const auto status = duende::mlock::lock_with_config(duende::mlock::MlockConfig::builder()
                                                          .current(flags.current)
                                                          .future(flags.future)
                                                          .onfault(flags.onfault)
                                                          .required(flags.required)
                                                          .io_flusher(flags.io_flusher)
                                                          .retain_heap(flags.retain_heap)
                                                          .build());
  if (!status) {
    log_error("cannot lock the supervisor: " + status.error().message());
    return false;
  }
  if (status->is_locked())
    log_info("supervisor locked: VmLck " + human_size(duende::mlock::locked_bytes()));
  else
    log_warning("supervisor not locked: " + status->to_string());
  return true;
}

// Blocks the signals the loop reads from a signalfd; returns the signalfd.
int open_signalfd() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0)
    throw std::system_error(errno, std::generic_category(), "sigprocmask");
  signal(SIGPIPE, SIG_IGN);
  const int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "signalfd");
  return fd;
}

}  // namespace

int check_config(const Options& options) {
  const ConfigResult config = load_config(effective_sources(options));
  if (!config) {
    for (const ConfigProblem& p : config.error())
      std::fprintf(stderr, "%s\n", p.to_string().c_str());
    std::fprintf(stderr, "%zu problem(s) found\n", config.error().size());
    return kExitConfig;
  }
  std::string order;
  for (const auto& name : config->start_order) order += (order.empty() ? "" : ", ") + name;
  std::printf("configuration OK: %zu child(ren)%s%s\n", config->children.size(),
              order.empty() ? "" : "; start order: ", order.c_str());
  return kExitOk;
}

int run(const Options& options) {
  const ConfigSources sources = effective_sources(options);
  ConfigResult config = load_config(sources);
  if (!config) {
    for (const ConfigProblem& p : config.error()) log_error(p.to_string());
    log_error("invalid configuration: " + std::to_string(config.error().size()) + " problem(s)");
    return kExitConfig;
  }
  if (!lock_self(config->self_mlock)) return kExitOsErr;

  const std::string socket_path = runtime_directory() + "/notify";
  auto notify_socket = NotifySocket::bind(socket_path);
  if (!notify_socket) {
    log_error("notify socket: " + notify_socket.error());
    return kExitFailure;
  }
  const int sfd = open_signalfd();
  EventLoop loop;
  Supervisor supervisor(
      loop, std::move(*config), [sources] { return load_config(sources); },
      std::move(*notify_socket), options.preload_path);
  loop.add(sfd, EPOLLIN, [&](std::uint32_t) {
    signalfd_siginfo info;
    while (::read(sfd, &info, sizeof info) == sizeof info) {
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
  const int code = loop.run([&] {
    supervisor.collect_garbage();
    bus.before_sleep();
  });
  loop.remove(sfd);
  ::close(sfd);
  return code;
}

}  // namespace duende::supervisor
