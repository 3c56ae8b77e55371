#include "bus_harness.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "privilege.hpp"
#include "proc_peek.hpp"

namespace duende::itest {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1000;
}

// Waits for `pid` up to `deadline`; its exit code, or nullopt if it is still running.
std::optional<int> wait_for(pid_t pid, Ms deadline) {
  const auto end = Clock::now() + deadline;
  int status = 0;
  while (true) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return exit_code_of(status);
    if (r < 0 && errno != EINTR) return -1000;  // not our child any more
    if (Clock::now() >= end) return std::nullopt;
    std::this_thread::sleep_for(Ms(5));
  }
}

// SIGTERM, then SIGKILL if it has not exited after `grace`; its exit code.
int terminate(pid_t pid, Ms grace) {
  ::kill(pid, SIGTERM);
  if (const auto code = wait_for(pid, grace)) return *code;
  ::kill(pid, SIGKILL);
  return wait_for(pid, kDeadline).value_or(-1000);
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Forks and execs `argv` with `env`, stdin from /dev/null, stdout to `out_fd` and stderr
// to `err_fd`; returns the pid.
pid_t spawn(std::vector<std::string> argv, std::vector<std::string> env, int out_fd, int err_fd) {
  if (argv.empty()) throw std::logic_error("spawn: no program");
  if (argv[0].find('/') == std::string::npos) {
    const std::string found = find_program(argv[0]);
    if (found.empty()) throw std::runtime_error(argv[0] + " is not installed");
    argv[0] = found;
  }
  std::vector<char*> args = c_strings(argv);
  std::vector<char*> envp = c_strings(env);
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork: " + std::string(strerror(errno)));
  if (pid == 0) {
    dup2(null_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(null_fd);
  return pid;
}

}  // namespace

bool state_has_process(const std::string& state) {
  return state == "starting" || state == "running" || state == "stopping";
}

Json idle_child(const std::vector<std::string>& args) {
  Json c = test_child(args);
  c["ready"] = "exec";
  c["mlock"] = {{"required", false}};
  return c;
}

Json flapping_child() {
  Json c = idle_child({"--exit-after-ms", "100"});
  c["restart"] = "always";
  c["restart_sec"] = 0.05;
  c["restart_max_sec"] = 0.05;
  c["start_limit_burst"] = 1000000;
  return c;
}

Json failing_child() {
  Json c = idle_child();
  c["exec"] = {"/nonexistent/prog"};
  c["restart"] = "no";
  return c;
}

Json crashing_child() {
  Json c = idle_child({"--exit-after-ms", "50", "--exit-code", "1"});
  c["restart"] = "always";
  c["restart_max_sec"] = 0.05;
  c["start_limit_burst"] = 1000;
  return c;
}

bool can_lock() { return test::cannot_lock_reason() == nullptr; }

Json locking_child() {
  if (!can_lock()) return idle_child({"--touch-mib", "2"});
  Json c = test_child({"--touch-mib", "2", "--lock"});
  c["ready"] = "locked";
  return c;
}

std::string child_path(const std::string& name) {
  char* path = nullptr;
  if (sd_bus_path_encode(kChildPathPrefix, name.c_str(), &path) < 0 || !path)
    throw std::runtime_error("sd_bus_path_encode failed for " + name);
  std::string out(path);
  std::free(path);
  return out;
}

std::string find_program(const std::string& program) {
  for (const char* dir : {"/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"}) {
    const std::string path = std::string(dir) + "/" + program;
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

// ---- PrivateBus ----

PrivateBus::PrivateBus(std::string dir, std::string policy) : dir_(std::move(dir)) {
  // uid 65534 must reach the socket: the directory needs o+x (mkdtemp made it 0700).
  if (chmod(dir_.c_str(), 0755) != 0)
    throw std::runtime_error("chmod " + dir_ + ": " + strerror(errno));
  std::string text = read_file(kBusConfigTemplate);
  if (text.empty()) throw std::runtime_error(std::string("cannot read ") + kBusConfigTemplate);
  replace_all(text, "@SOCKET@", socket_path());
  replace_all(text, "@POLICY@", policy);
  config_ = dir_ + "/bus.conf";
  std::ofstream(config_) << text;
  start();
}

PrivateBus::~PrivateBus() {
  thaw();
  if (pid_ > 0) terminate(pid_, Ms(2000));
}

void PrivateBus::start() {
  if (pid_ > 0) throw std::logic_error("the bus is already running");
  const std::string daemon = find_program("dbus-daemon");
  if (daemon.empty()) throw std::runtime_error("dbus-daemon is not installed");
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  const int err =
      open((dir_ + "/bus.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_ = spawn({daemon, "--config-file=" + config_, "--nofork", "--nopidfile", "--print-address"},
               {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, out[1], err);
  close(out[1]);
  close(err);
  // It prints its address once it listens.
  std::string address;
  const auto end = Clock::now() + kDeadline;
  while (address.find('\n') == std::string::npos && Clock::now() < end) {
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[512];
    const ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    address.append(buf, static_cast<std::size_t>(n));
  }
  close(out[0]);
  if (address.find("unix:path=" + socket_path()) != 0) {
    kill();
    throw std::runtime_error("dbus-daemon did not start: \"" + address + "\"\n" + log_text());
  }
}

void PrivateBus::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait_for(pid_, kDeadline);
  pid_ = 0;
  frozen_ = false;
}

void PrivateBus::freeze() {
  if (pid_ > 0 && ::kill(pid_, SIGSTOP) == 0) frozen_ = true;
}

void PrivateBus::thaw() {
  if (pid_ > 0 && frozen_) ::kill(pid_, SIGCONT);
  frozen_ = false;
}

std::string PrivateBus::log_text() const { return read_file(dir_ + "/bus.log"); }

// ---- clients ----

std::unique_ptr<sdbus::IConnection> connect_bus(const std::string& address) {
  // A system bus connection, as the daemon and mlockctl make it, through
  // DBUS_SYSTEM_BUS_ADDRESS. (Not createSessionBusConnectionWithAddress(): in sdbus-c++
  // 1.2.0 it leaks the sd_bus when the connection fails, which LeakSanitizer reports.)
  // Set only from the test's main thread; the load test's threads get ready-made
  // connections.
  const char* current = std::getenv("DBUS_SYSTEM_BUS_ADDRESS");
  if (!current || address != current) setenv("DBUS_SYSTEM_BUS_ADDRESS", address.c_str(), 1);
  return sdbus::createSystemBusConnection();
}

bool name_owned(const std::string& address, const std::string& name) {
  try {
    auto connection = connect_bus(address);
    auto proxy = sdbus::createProxy(*connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
    bool owned = false;
    proxy->callMethod("NameHasOwner")
        .onInterface("org.freedesktop.DBus")
        .withArguments(name)
        .storeResultsTo(owned);
    return owned;
  } catch (const sdbus::Error&) {
    return false;
  }
}

BusClient::BusClient(const std::string& address)
    : connection_(connect_bus(address)),
      manager_(sdbus::createProxy(*connection_, kBusName, kManagerPath)) {}

Properties BusClient::manager_properties() {
  Properties props;
  manager_->callMethod("GetAll")
      .onInterface(kPropertiesInterface)
      .withArguments(std::string(kManagerInterface))
      .storeResultsTo(props);
  return props;
}

Properties BusClient::child_properties(const std::string& name) {
  auto proxy = sdbus::createProxy(*connection_, kBusName, child_path(name));
  Properties props;
  proxy->callMethod("GetAll")
      .onInterface(kPropertiesInterface)
      .withArguments(std::string(kChildInterface))
      .storeResultsTo(props);
  return props;
}

ManagedObjects BusClient::managed_objects() {
  ManagedObjects objects;
  manager_->callMethod("GetManagedObjects")
      .onInterface(kObjectManagerInterface)
      .storeResultsTo(objects);
  return objects;
}

std::vector<
    sdbus::Struct<std::string, std::string, std::uint32_t, bool, std::uint64_t, std::uint64_t>>
BusClient::list_children() {
  std::vector<
      sdbus::Struct<std::string, std::string, std::uint32_t, bool, std::uint64_t, std::uint64_t>>
      out;
  manager_->callMethod("ListChildren").onInterface(kManagerInterface).storeResultsTo(out);
  return out;
}

CallError BusClient::invoke(const std::string& path, const std::string& interface,
                            const std::string& method,
                            const std::function<void(sdbus::MethodCall&)>& fill) {
  try {
    auto proxy = sdbus::createProxy(*connection_, kBusName, path);
    auto call = proxy->createMethodCall(interface, method);
    fill(call);
    proxy->callMethod(call);
    return {};
  } catch (const sdbus::Error& e) {
    return {e.getName(), e.getMessage()};
  }
}

void BusClient::subscribe() {
  match_ = connection_->addMatch(
      std::string("type='signal',sender='") + kBusName + "',path_namespace='" + kManagerPath + "'",
      [this](sdbus::Message& msg) {
        SeenSignal s;
        s.path = msg.getPath();
        s.interface = msg.getInterfaceName();
        s.member = msg.getMemberName();
        if (s.member == "PropertiesChanged")
          msg >> s.changed_interface >> s.changed >> s.invalidated;
        else if (s.member == "InterfacesAdded") {
          sdbus::ObjectPath object;
          msg >> object >> s.added;
          s.object = object;
        } else if (s.member == "InterfacesRemoved") {
          sdbus::ObjectPath object;
          msg >> object >> s.removed;
          s.object = object;
        } else if (s.member == "LockLost") {
          msg >> s.child >> s.locked_bytes >> s.swapped_bytes;
        }
        seen_.push_back(std::move(s));
      });
}

void BusClient::process() {
  while (connection_->processPendingRequest()) {
  }
}

std::vector<std::string> client_environment(const std::string& bus_address) {
  std::vector<std::string> env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                                  "DBUS_SYSTEM_BUS_ADDRESS=" + bus_address, "LC_ALL=C",
                                  "SYSTEMD_COLORS=0", "SYSTEMD_PAGER=cat"};
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"})
    if (const char* value = std::getenv(name)) env.push_back(std::string(name) + "=" + value);
  return env;
}

RunResult run_program(std::vector<std::string> argv, const std::vector<std::string>& env,
                      bool unprivileged) {
  if (unprivileged)
    argv.insert(argv.begin(),
                {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"});
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe2 failed");
  const pid_t pid = spawn(argv, env, out[1], err[1]);
  close(out[1]);
  close(err[1]);
  RunResult result;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  const auto end = Clock::now() + kDeadline;
  int open_fds = 2;
  while (open_fds > 0 && Clock::now() < end) {
    if (poll(fds, 2, 100) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (const pollfd& p : fds)
    if (p.fd >= 0) close(p.fd);
  const auto code = wait_for(pid, Ms(100));
  result.exit_code = code ? *code : terminate(pid, Ms(100));
  if (!code) ADD_FAILURE() << argv[0] << " did not finish in time and was killed";
  return result;
}

// ---- BackgroundProgram ----

BackgroundProgram::BackgroundProgram(const std::vector<std::string>& argv,
                                     const std::vector<std::string>& env, std::string output_file)
    : output_file_(std::move(output_file)) {
  const int fd = open(output_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("open " + output_file_ + ": " + strerror(errno));
  pid_ = spawn(argv, env, fd, fd);
  close(fd);
}

BackgroundProgram::~BackgroundProgram() { stop(); }

std::string BackgroundProgram::output() const { return read_file(output_file_); }

int BackgroundProgram::stop() {
  if (!exit_code_ && pid_ > 0) exit_code_ = terminate(pid_, Ms(2000));
  return exit_code_.value_or(-1000);
}

// ---- BusTest ----

void BusTest::SetUp() {
  DUENDE_BUS_REQUIRE_ROOT();
  for (const char* tool : {"dbus-daemon", "busctl", "dbus-send", "setpriv"})
    ASSERT_FALSE(find_program(tool).empty())
        << tool << " is not installed (scripts/install-deps installs it)";
  bus = std::make_unique<PrivateBus>(h.dir());
}

void BusTest::TearDown() {
  client_.reset();
  if (bus) bus->thaw();
  h.stop();  // the daemon first, while its bus is still there
  if (HasFailure() && bus) std::cout << "---- dbus-daemon log ----\n" << bus->log_text();
  bus.reset();
}

void BusTest::start_daemon() {
  Harness::Launch launch;
  launch.bus_address = bus->address();
  h.start(launch);
  ASSERT_TRUE(eventually([&] { return name_owned(bus->address()); }))
      << "the daemon never owned " << kBusName;
}

BusClient& BusTest::client() {
  if (!client_) client_ = std::make_unique<BusClient>(bus->address());
  return *client_;
}

Properties BusTest::wait_child_state(const std::string& name, const std::string& state) {
  Properties props;
  const bool reached = eventually([&] {
    try {
      props = client().child_properties(name);
      const auto it = props.find("State");
      return it != props.end() && it->second.get<std::string>() == state;
    } catch (const sdbus::Error&) {
      return false;
    }
  });
  EXPECT_TRUE(reached) << name << " never reached state " << state;
  return props;
}

RunResult BusTest::mlockctl(const std::vector<std::string>& args, bool unprivileged) {
  std::vector<std::string> argv = {kMlockctlBin};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, env(), unprivileged);
}

RunResult BusTest::busctl(const std::vector<std::string>& args, bool unprivileged) {
  std::vector<std::string> argv = {"busctl", "--no-pager"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, env(), unprivileged);
}

std::uint64_t BusTest::daemon_threads() const {
  return test::status_field(h.pid(), "Threads").value_or(0);
}

sd_bus* connect_as_nobody(const std::string& address) {
  constexpr uid_t kNobody = 65534;
  if (::setgroups(0, nullptr) != 0 || ::setresgid(kNobody, kNobody, kNobody) != 0 ||
      ::setresuid(kNobody, kNobody, kNobody) != 0)
    _exit(3);
  sd_bus* bus = nullptr;
  if (sd_bus_new(&bus) < 0 || sd_bus_set_address(bus, address.c_str()) < 0 ||
      sd_bus_set_bus_client(bus, 1) < 0 || sd_bus_start(bus) < 0)
    _exit(4);
  return bus;
}

namespace {

[[noreturn]] void unprivileged_reader(const std::string& address, long* answers) {
  sd_bus* bus = connect_as_nobody(address);
  while (true) {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    if (sd_bus_call_method(bus, kBusName, kManagerPath, kObjectManagerInterface,
                           "GetManagedObjects", &error, &reply, "") >= 0)
      __atomic_add_fetch(answers, 1, __ATOMIC_RELAXED);
    sd_bus_message_unref(reply);
    sd_bus_error_free(&error);
  }
}

}  // namespace

UnprivilegedReaders::UnprivilegedReaders(const std::string& address, int n) : n_(n) {
  void* shared = ::mmap(nullptr, sizeof(long) * static_cast<std::size_t>(n), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) throw std::runtime_error("mmap: " + std::string(strerror(errno)));
  answers_ = static_cast<long*>(shared);
  std::fflush(nullptr);
  for (int i = 0; i < n; ++i) {
    answers_[i] = 0;
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork: " + std::string(strerror(errno)));
    if (pid == 0) unprivileged_reader(address, &answers_[i]);
    pids_.push_back(pid);
  }
}

UnprivilegedReaders::~UnprivilegedReaders() {
  stop();
  ::munmap(answers_, sizeof(long) * static_cast<std::size_t>(n_));
}

long UnprivilegedReaders::answers(int i) const {
  return __atomic_load_n(&answers_[i], __ATOMIC_RELAXED);
}

long UnprivilegedReaders::total_answers() const {
  long total = 0;
  for (int i = 0; i < n_; ++i) total += answers(i);
  return total;
}

void UnprivilegedReaders::stop() {
  for (pid_t pid : pids_) ::kill(pid, SIGKILL);
  for (pid_t pid : pids_) ::waitpid(pid, nullptr, 0);
  pids_.clear();
}

}  // namespace duende::itest
