#include "app/run.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <system_error>

#include "api/human_size.hpp"
#include "api/text_escape.hpp"
#include "app/preload_shim.hpp"
#include "app/reexec.hpp"
#include "bus/bus_service.hpp"
#include "core/fd_budget.hpp"
#include "core/saved_state.hpp"
#include "core/supervisor.hpp"
#include "duende/mlock.hpp"
#include "os/cgroup.hpp"
#include "os/event_loop.hpp"
#include "os/fd_store.hpp"
#include "os/instance_lock.hpp"
#include "os/kernel_system.hpp"
#include "os/log.hpp"
#include "os/notify_socket.hpp"
#include "os/process_setup.hpp"
#include "os/state_file.hpp"

namespace duende::supervisor {
namespace {

using mlock::Unexpected;

ConfigSources effective_sources(const Options& options) {
  ConfigSources s = options.sources;
  s.check_ownership = process_effective_uid() == 0;
  return s;
}

PreloadShim preload_shim(const Options& options) {
  return choose_preload_shim(options.preload_given ? options.preload_path : "",
                             MLOCK_PRELOAD_INSTALLED, options.executable,
                             MLOCK_PRELOAD_BUILD_RELATIVE, MLOCK_SUPERVISOR_INSTALLED);
}

// The configuration, held to what only this daemon knows: the shim its children get.
ConfigResult load_checked(const ConfigSources& sources, const PreloadShim& shim) {
  ConfigResult config = load_config(sources);
  if (!config) return config;
  auto problems = preload_problems(*config, shim, sources.main_file);
  if (!problems.empty()) return Unexpected(std::move(problems));
  return config;
}

// $RUNTIME_DIRECTORY (systemd's RuntimeDirectory=; the first of several) or the default.
std::string runtime_directory() {
  const char* env = std::getenv("RUNTIME_DIRECTORY");  // may list several, ':'-separated
  return env && *env ? std::string(env).substr(0, std::string(env).find(':'))
                     : "/run/mlock-supervisor";
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

// Everything run() sets up before the loop, owned in the order it is torn down.
struct Daemon {
  Daemon(const rlimit& child_nofile, const std::string& state_dir)
      : system(loop, child_nofile, state_dir, Cgroups::set_up(fd_store_available())) {}
  EventLoop loop;
  KernelSystem system;
};

}  // namespace

std::string ConfigSummary::to_string() const {
  std::string order;
  for (const auto& name : start_order) order += (order.empty() ? "" : ", ") + name;
  return "configuration OK: " + std::to_string(children) + " child(ren)" +
         (order.empty() ? "" : "; start order: " + order) +
         (preload_shim.empty() ? "" : "; preload shim: " + preload_shim);
}

mlock::Result<ConfigSummary, std::vector<ConfigProblem>> check_config(const Options& options) {
  const PreloadShim shim = preload_shim(options);
  ConfigResult config = load_checked(effective_sources(options), shim);
  if (!config) return Unexpected(std::move(config.error()));
  // As run() will see it: with the soft limit raised to the hard one.
  if (const auto problem = fd_budget_problem(*config, fd_limit_hard()))
    return Unexpected(std::vector<ConfigProblem>{{options.sources.main_file, "", *problem}});
  const bool preloads = std::any_of(config->children.begin(), config->children.end(),
                                    [](const auto& c) { return c.second.preload; });
  return ConfigSummary{config->children.size(), config->start_order,
                       preloads ? shim.path : std::string()};
}

// Whether this process is the new image of a re-exec: the state says so, for our pid.
// Its children are running; should it fail to start, they must not vanish from the log.
bool started_by_reexec(const std::string& dir) {
  std::string error;
  const auto text =
      read_file_bounded(dir + "/state/" + kSupervisorStateKey + ".json", 1024 * 1024, error);
  if (!text) return false;
  const auto saved = parse_saved_supervisor(*text);
  return saved && saved->reexec && saved->pid == ::getpid();
}

mlock::Result<void, RunError> run(const Options& options) {
  const ConfigSources sources = effective_sources(options);
  const bool reexec_start = started_by_reexec(runtime_directory());
  const auto fail = [reexec_start](RunError e) {
    log_error(e.message);
    if (reexec_start)
      log_critical("re-exec: the new binary cannot start (" + e.message +
                   "); the children keep running unsupervised until mlock-supervisor starts "
                   "again and adopts them");
    return Unexpected(std::move(e));
  };
  const PreloadShim shim = preload_shim(options);
  ConfigResult config = load_checked(sources, shim);
  if (!config) {
    for (const ConfigProblem& p : config.error()) log_error(p.to_string());
    return fail(RunError{
        RunError::Kind::Config,
        "invalid configuration: " + std::to_string(config.error().size()) + " problem(s)"});
  }
  // A descriptor per child: the soft limit up to the hard one, and the configuration held
  // to it before anything starts (children get the original limits back).
  rlimit child_nofile = raise_fd_limit();
  // After a re-exec our limit is the raised one: the children's came along in the
  // environment (app/reexec.hpp).
  if (const auto kept = take_kept_child_nofile()) child_nofile = *kept;
  if (const auto problem = fd_budget_problem(*config, fd_limit_now()))
    return fail(RunError{RunError::Kind::Config, "invalid configuration: " + *problem});
  const auto os_failure = [&fail](std::string message) {
    return fail(RunError{RunError::Kind::Os, std::move(message)});
  };
  const std::string dir = runtime_directory();
  if (auto made = make_directory(dir); !made) return os_failure(made.error());
  // Before anything that touches what a running supervisor owns (its notify socket).
  auto instance = InstanceLock::acquire(dir);
  if (!instance)
    return fail(
        RunError{instance.error().held ? RunError::Kind::AlreadyRunning : RunError::Kind::Os,
                 instance.error().message});
  if (auto locked = lock_self(config->self_mlock); !locked) return fail(locked.error());
  const std::string state_dir = dir + "/state";
  if (auto made = make_directory(state_dir); !made) return os_failure(made.error());
  // Orphans of the children's trees (a daemon that double-forks) come to us, not to init:
  // their exit statuses are ours to read, and none lingers as a zombie (reap_strays()).
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
    log_warning(std::string("cannot become the children's subreaper: ") + std::strerror(errno));
  auto signals = SignalReader::open({SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR2});
  if (!signals) return os_failure(signals.error());
  std::unique_ptr<Daemon> daemon;
  try {  // every start-up refusal of the kernel (EMFILE, ENOMEM, …) ends here
    daemon = std::make_unique<Daemon>(child_nofile, state_dir);
  } catch (const std::system_error& e) {
    return os_failure(e.what());
  }
  // What an earlier supervisor process left: after a crash, a restart or a re-exec.
  std::vector<std::string> state_problems;
  SavedState saved =
      assemble_saved_state(daemon->system.load_state(state_problems), state_problems);
  for (const std::string& p : state_problems) log_warning("state: " + escape_control(p));
  const bool reexec = saved.supervisor.reexec && saved.supervisor.pid == ::getpid();
  const auto open_notify_socket = [&] {
    if (!reexec) return NotifySocket::bind(dir + "/notify");
    auto taken = NotifySocket::adopt(saved.supervisor.notify_fd, dir + "/notify");
    if (taken) return taken;
    log_warning("re-exec: " + taken.error() + "; binding a new one");
    return NotifySocket::bind(dir + "/notify");
  };
  auto notify_socket = open_notify_socket();
  if (!notify_socket) return os_failure("notify socket: " + notify_socket.error());
  try {
    daemon->loop.add(notify_socket->fd(), EPOLLIN, [](std::uint32_t) {});
    daemon->loop.add(signals->fd(), EPOLLIN, [](std::uint32_t) {});
  } catch (const std::system_error& e) {
    return os_failure(e.what());
  }
  EventLoop& loop = daemon->loop;
  Supervisor supervisor(
      daemon->system, std::move(*config), [sources, shim] { return load_checked(sources, shim); },
      notify_socket->path(), shim.path);
  supervisor.set_on_finished([&loop] { loop.quit(0); });
  std::unique_ptr<BusService> bus;
  std::unique_ptr<Reexecutor> reexecutor;
  const auto open_bus = [&] {  // the bus is an extra: if even its timers cannot be had
    try {                      // (EMFILE), supervision goes on
      bus = std::make_unique<BusService>(loop, supervisor, reexecutor.get());
    } catch (const std::exception& e) {
      log_error(std::string("D-Bus: not available (") + e.what() + "); supervision goes on");
    }
  };
  reexecutor = std::make_unique<Reexecutor>(
      loop, supervisor, *notify_socket, options.executable, options.argv, child_nofile,
      [&] { bus.reset(); }, open_bus);
  // Re-pointed at the supervisor now that it exists (adding a known fd cannot fail).
  loop.add(notify_socket->fd(), EPOLLIN, [&](std::uint32_t) {
    for (const Datagram& d : notify_socket->receive_all()) supervisor.on_datagram(d);
  });
  loop.add(signals->fd(), EPOLLIN, [&](std::uint32_t) {
    for (int signo : signals->read_pending()) {
      if (signo == SIGTERM || signo == SIGINT)
        supervisor.shutdown();
      else if (signo == SIGHUP)
        (void)supervisor.reload();
      else if (signo == SIGUSR2)
        (void)reexecutor->request_reexec("SIGUSR2");
      else if (signo == SIGCHLD)
        daemon->system.reap_strays(reexecutor->check_pid());
    }
  });
  if (shim.origin == PreloadShim::Origin::BuildTree)
    log_notice("preload shim: " + shim.path +
               " (built with this binary; " MLOCK_PRELOAD_INSTALLED " is not installed)");
  log_notice("mlock-supervisor " MLOCK_SUPERVISOR_VERSION +
             std::string(reexec ? " re-executed, taking over " : " starting ") +
             std::to_string(supervisor.children().size()) + " children");
  // Supervision first: the bus may be absent, and must never delay it.
  supervisor.start(std::move(saved));
  open_bus();
  loop.run([&] {
    log_flush();
    supervisor.collect_garbage();
    return bus && bus->before_sleep();
  });
  reexecutor.reset();
  bus.reset();
  daemon->system.remove_cgroup_base();  // ours and empty after a clean stop
  loop.remove(signals->fd());
  loop.remove(notify_socket->fd());
  return {};
}

}  // namespace duende::supervisor
