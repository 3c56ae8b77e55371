// The memory-pressure proof (issue 12, item 3): the real supervisor runs ramswap, the
// reference swap-critical daemon, locked through the library, and turns swap on on the
// loop device ramswap serves once ramswap is ready and verified locked; a memory cgroup
// smaller than what a workload writes pushes the workload's pages, and those of an
// unlocked control child of the supervisor, out through ramswap into ramswap's locked
// memory and back. Every page must come back as written, and neither ramswap nor the
// supervisor may have a page in swap at any time. Then the supervisor's side of the
// swap's end: a stop whose swapoff cannot succeed (the cgroup may neither grow nor
// OOM-kill) is refused and ramswap keeps running; the same stop succeeds once the pages
// may come back, swapoff first; a started-again ramswap gets its swap back, and the
// supervisor's own stop turns it off before it stops ramswap.
//
// Root only; it loads the machine (about 136 MiB through swap), so it runs alone
// (RUN_SERIAL). Every wait has a deadline and polls; at every poll the sampler reads
// /proc/swaps and the VmSwap of everyone involved, so "stays 0 throughout" is measured,
// not assumed.
//
// Cleanup, on every path (TearDown, also after a failed ASSERT), in the one safe order:
// the cgroup's limits are lifted, the workload and the control end (their pages leave the
// swap with them), a swap still on goes off, and only then the supervisor stops (it
// stops ramswap); the cgroup goes last. If swapoff fails, ramswap is left running with
// its swap on (the supervisor is SIGKILLed so that it cannot stop it) and the test fails
// saying so: stopping ramswap then would hang every process with a page in that swap.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bus_harness.hpp"
#include "memory_cgroup.hpp"
#include "privilege.hpp"
#include "proc_peek.hpp"
#include "ramswap_harness.hpp"
#include "run_process.hpp"

namespace duende::itest {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

constexpr std::uint64_t kKiB = 1024, kMiB = 1 << 20;
constexpr std::uint64_t kRamswapMiB = 160;     // the swap area: room for everything below
constexpr std::uint64_t kCgroupLimitMiB = 64;  // what workload and control may keep in RAM
constexpr std::uint64_t kWorkloadMiB = 112;
constexpr std::uint64_t kControlMiB = 24;
constexpr std::uint64_t kMinSwappedMiB = 32;  // the workload's pages that must go through
constexpr int kSwapPriority = 32767;          // the highest: the kernel uses it first
constexpr Ms kPhaseDeadline{30000};
constexpr const char* kWorkloadBin = PRESSURE_WORKLOAD_BIN;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Polls `predicate` every 10 ms up to `deadline`; its last answer. For waits after the
// supervisor is gone (Harness::wait_until stops early then).
bool poll_until(const std::function<bool()>& predicate, Ms deadline) {
  for (const auto until = Clock::now() + deadline; Clock::now() < until;) {
    if (predicate()) return true;
    std::this_thread::sleep_for(Ms(10));
  }
  return predicate();
}

// One line of /proc/swaps.
struct SwapArea {
  std::string name;
  std::uint64_t size_kib = 0, used_kib = 0;
  int priority = 0;
};

std::vector<SwapArea> swap_areas() {
  std::vector<SwapArea> areas;
  std::ifstream in("/proc/swaps");
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    SwapArea a;
    std::string type;
    if (fields >> a.name >> type >> a.size_kib >> a.used_kib >> a.priority) areas.push_back(a);
  }
  return areas;
}

std::optional<SwapArea> swap_area(const std::string& device) {
  for (const auto& a : swap_areas())
    if (a.name == device) return a;
  return std::nullopt;
}

// Bytes written to block device /dev/NAME since it was set up (sectors written, the
// seventh field of /sys/block/NAME/stat).
std::uint64_t bytes_written(const std::string& device) {
  std::ifstream in("/sys/block/" + device.substr(device.rfind('/') + 1) + "/stat");
  std::uint64_t f[7] = {};
  for (auto& x : f) in >> x;
  return f[6] * 512;
}

std::uint64_t vmswap(pid_t pid) { return test::status_field(pid, "VmSwap").value_or(0); }

// The directory of process `pid`'s cgroup v2 ("" without a cgroup2 mount or that pid).
std::string cgroup2_dir(pid_t pid) {
  std::string mount_point, path, line;
  std::ifstream mounts("/proc/self/mountinfo");
  while (mount_point.empty() && std::getline(mounts, line)) {
    const auto dash = line.find(" - cgroup2 ");
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, devno, root, point;
    if (dash != std::string::npos && head >> id >> parent >> devno >> root >> point)
      mount_point = point;
  }
  std::ifstream cgroups("/proc/" + std::to_string(pid) + "/cgroup");
  while (std::getline(cgroups, line))
    if (line.rfind("0::", 0) == 0) path = line.substr(3);
  return mount_point.empty() || path.empty() ? "" : mount_point + path;
}

// Whether process `pid` is alive and runs `program` (never a recycled pid).
bool runs(pid_t pid, const std::string& program) {
  std::error_code ec;
  return process_alive(pid) && fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec) ==
                                   fs::canonical(program, ec);
}

// What pressure-workload last wrote to its state file.
struct WorkloadState {
  long seq = 0;
  std::string word;
  std::uint64_t pages = 0, wrong = 0, vmswap_kib = 0, vmswap_peak_kib = 0;
  long first_wrong = -1;
};

// One pressure-workload process seen from outside: its command and state files (see
// pressure_workload.cpp). It may be the test's own child or the supervisor's.
class Workload {
 public:
  Workload(std::string dir, std::string name, std::uint64_t mib, std::uint64_t seed)
      : dir_(std::move(dir)), name_(std::move(name)), mib_(mib), seed_(seed) {}

  std::vector<std::string> argv() const {
    return {
        kWorkloadBin, "--mib", std::to_string(mib_), "--seed", std::to_string(seed_), "--dir", dir_,
        "--name",     name_};
  }
  std::uint64_t pages() const { return mib_ * kMiB / 4096; }
  const std::string& name() const { return name_; }

  // Sends `word`; returns its sequence number, for done().
  long command(const std::string& word) {
    const std::string file = dir_ + "/" + name_ + ".cmd";
    std::ofstream(file + ".tmp", std::ios::trunc) << ++seq_ << ' ' << word << '\n';
    std::rename((file + ".tmp").c_str(), file.c_str());
    return seq_;
  }
  std::optional<WorkloadState> state() const {
    std::ifstream in(dir_ + "/" + name_ + ".state");
    WorkloadState s;
    std::string line;
    if (!std::getline(in, line)) return std::nullopt;
    std::istringstream f(line);
    f >> s.seq >> s.word;
    for (std::string kv; f >> kv;) {
      const auto eq = kv.find('=');
      const std::string key = kv.substr(0, eq);
      const long long value = std::stoll(kv.substr(eq + 1));
      if (key == "pages") s.pages = value;
      if (key == "wrong") s.wrong = value;
      if (key == "first_wrong") s.first_wrong = static_cast<long>(value);
      if (key == "vmswap_kib") s.vmswap_kib = value;
      if (key == "vmswap_peak_kib") s.vmswap_peak_kib = value;
    }
    return s;
  }
  bool done(long seq) const {
    const auto s = state();
    return s && s->seq >= seq;
  }

  pid_t pid = 0;

 private:
  std::string dir_, name_;
  std::uint64_t mib_, seed_;
  long seq_ = 0;
};

// The highest values seen by the sampler.
struct Peaks {
  std::uint64_t swap_used_kib = 0;  // ramswap's device in /proc/swaps
  std::uint64_t ramswap_vmswap = 0, supervisor_vmswap = 0;
  std::uint64_t workload_vmswap = 0, control_vmswap = 0;
  long samples = 0;
};

class PressureTest : public BusTest {
 protected:
  void SetUp() override {
    started_ = Clock::now();
    DUENDE_SKIP_IF_SANITIZED(
        "ramswap and the supervisor must lock, and ASan cannot lock its shadow memory");
    if (const char* why_not = ramswap_unavailable_reason()) GTEST_SKIP() << why_not;
    for (const auto& a : swap_areas()) {
      if (a.priority >= kSwapPriority)
        GTEST_SKIP() << "swap " << a.name << " already has priority " << a.priority
                     << ": the kernel would share the pages between it and ramswap";
      other_swap_ += " " + a.name + " (priority " + std::to_string(a.priority) + ")";
    }
    std::string why_not;
    cgroup_ = MemoryCgroup::make(kCgroupLimitMiB * kMiB, why_not);
    if (!cgroup_) GTEST_SKIP() << why_not;
    BusTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    mount_dir_ = h.path("ramswap");
    work_dir_ = h.path("work");
    fs::create_directory(mount_dir_);
    fs::create_directory(work_dir_);
    workload_ = std::make_unique<Workload>(work_dir_, "workload", kWorkloadMiB, 1);
    control_ = std::make_unique<Workload>(work_dir_, "control", kControlMiB, 2);
    h.on_poll = [this] { sample(); };
  }

  void TearDown() override {
    if (cgroup_) {  // whatever a failed step left: the workloads must be able to run and exit
      cgroup_->pin_at_limit(false);
      cgroup_->set_limit(0);
      pinned_ = false;
    }
    end_workloads();
    // The supervisor turns the swap off before it stops ramswap, and refuses to stop
    // ramswap while that fails. If a failed step left the swap on, it goes off here first
    // (the workloads are gone, and their pages in swap with them).
    if (!device_.empty() && swap_area(device_) && ::swapoff(device_.c_str()) != 0 &&
        swap_area(device_))
      leave_ramswap_running();
    BusTest::TearDown();  // stops the supervisor (and so ramswap), then the bus
    remove_ramswap_leftovers();
    if (cgroup_ && !cgroup_->remove()) ADD_FAILURE() << "cgroup " << cgroup_->path() << " stays";
    if (workload_ && workload_->pid > 0) {
      kill(workload_->pid, SIGKILL);
      waitpid(workload_->pid, nullptr, 0);
    }
  }

  // The supervisor's children: ramswap, whose swap the supervisor turns on (on the device
  // ramswap reports with READY=1) and off, and the control, started once ramswap is ready.
  Json ramswap_child() const {
    return Json{
        {"exec", {kRamswapBin, "--size", std::to_string(kRamswapMiB) + "M", "--mount", mount_dir_}},
        {"ready", "notify"},
        {"preload", false},
        {"swap", {{"priority", kSwapPriority}, {"mkswap", true}}},
        {"start_timeout_sec", 20},
        {"stop_timeout_sec", 10},
        {"restart", "no"}};
  }
  Json control_child() const {
    Json c{{"ready", "exec"},
           {"preload", false},
           {"mlock", {{"required", false}}},
           {"oom_score_adj", 0},
           {"stop_timeout_sec", 5},
           {"restart", "no"},
           {"after", Json::array({"ramswap"})}};
    c["exec"] = control_->argv();
    return c;
  }

  // Starts the test's own workload (stdout and stderr in work/workload.log), killed with
  // the test process if that dies.
  void spawn_workload() {
    auto argv = workload_->argv();
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const int out =
        open((work_dir_ + "/workload.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      dup2(out, 1);
      dup2(out, 2);
      char* env[] = {nullptr};
      execve(args[0], args.data(), env);
      _exit(127);
    }
    close(out);
    workload_->pid = pid;
  }

  // Reaps the test's workload if it exited: its exit code (-N for signal N).
  std::optional<int> workload_exit() {
    int status = 0;
    if (workload_->pid <= 0 || waitpid(workload_->pid, &status, WNOHANG) != workload_->pid)
      return workload_exit_;
    workload_exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    workload_->pid = 0;
    return workload_exit_;
  }

  void sample() {
    ++peaks_.samples;
    if (!device_.empty())
      if (const auto a = swap_area(device_))
        peaks_.swap_used_kib = std::max(peaks_.swap_used_kib, a->used_kib);
    auto peak = [](std::uint64_t& field, pid_t pid) {
      if (pid > 0) field = std::max(field, vmswap(pid));
    };
    peak(peaks_.ramswap_vmswap, ramswap_pid_);
    peak(peaks_.supervisor_vmswap, h.pid() > 0 && process_alive(h.pid()) ? h.pid() : 0);
    peak(peaks_.workload_vmswap, workload_ ? workload_->pid : 0);
    peak(peaks_.control_vmswap, control_ ? control_->pid : 0);
  }

  // Sends `word` to both workloads and waits until both have done it, waking at each poll
  // a workload left in the OOM wait (a stall of 30 s until that was done).
  bool both(const std::string& word) {
    const long a = control_->command(word), b = workload_->command(word);
    const bool done = eventually(
        [&] {
          wake_workloads();
          return control_->done(a) && workload_->done(b);
        },
        kPhaseDeadline);
    if (!done) ADD_FAILURE() << "\"" << word << "\" not done:\n" << stall_report();
    return done;
  }

  // A workload may sleep in the OOM wait of the cgroup (v1) past the pin that put it there:
  // memory.oom_control wakes it, once the pin is off.
  void wake_workloads() {
    if (cgroup_ && !pinned_) oom_wakes_ += std::max(0, cgroup_->wake_oom_waiters(Ms(0)));
  }

  // Where each workload is (its last report, its state and where it sleeps in the kernel)
  // and the cgroup's memory figures: what a stalled phase is waiting for.
  std::string stall_report() const {
    std::ostringstream out;
    for (const Workload* w : {control_.get(), workload_.get()}) {
      const std::string proc = "/proc/" + std::to_string(w->pid);
      std::ifstream stat(proc + "/stat"), wchan(proc + "/wchan"), stack(proc + "/stack");
      std::string stat_line, where;
      std::getline(stat, stat_line);
      std::getline(wchan, where);
      const auto close = stat_line.rfind(')');
      const std::string state =
          close == std::string::npos ? "gone" : stat_line.substr(close + 2, 1);
      const auto s = w->state();
      out << "  " << w->name() << " (pid " << w->pid << "): state " << state << ", wchan "
          << (where.empty() ? "-" : where) << ", last report "
          << (s ? std::to_string(s->seq) + " " + s->word : std::string("none")) << "\n"
          << stack.rdbuf();
    }
    out << "  cgroup: " << cgroup_->memory_report() << "\n";
    return out.str();
  }

  // Asks the workloads to exit, then makes sure they are gone (SIGKILL after a deadline:
  // their pages in swap are freed with them, which is what makes swapoff safe).
  void end_workloads() {
    if (!workload_ || !control_) return;
    if (workload_->pid > 0 || (control_->pid > 0 && process_alive(control_->pid))) {
      workload_->command("exit");
      control_->command("exit");
    }
    const bool ended = poll_until(
        [&] {
          wake_workloads();
          workload_exit();
          return workload_->pid <= 0 && (control_->pid <= 0 || !process_alive(control_->pid));
        },
        Ms(10000));
    if (ended) return;
    ADD_FAILURE() << "the workloads did not exit when told: killing them";
    if (workload_->pid > 0) kill(workload_->pid, SIGKILL);
    if (control_->pid > 0 && runs(control_->pid, kWorkloadBin)) kill(control_->pid, SIGKILL);
    poll_until([&] { return workload_exit().has_value(); }, Ms(5000));
  }

  // ramswap running (pid in ramswap_pid_), the loop device it serves (device_), and the
  // swap on it turned on by the supervisor, as the kernel and D-Bus both say. Its
  // properties once the swap is on.
  Properties ramswap_with_swap_on() {
    Properties p = wait_child_state("ramswap", "running");
    ramswap_pid_ = static_cast<pid_t>(prop<std::uint32_t>(p, "Pid"));
    EXPECT_GT(ramswap_pid_, 0);
    std::vector<std::string> loops;
    EXPECT_TRUE(eventually([&] {
      return (loops = loops_backed_by(mount_dir_ + "/image")).size() == 1;
    })) << "no loop device bound to "
        << mount_dir_ << "/image";
    if (loops.size() != 1) return p;
    device_ = loops[0];
    EXPECT_TRUE(eventually(
        [&] {
          p = client().child_properties("ramswap");
          return prop<std::string>(p, "SwapState") == "on" && swap_area(device_).has_value();
        },
        kPhaseDeadline))
        << "the supervisor did not turn swap on " << device_ << " on: SwapState "
        << prop<std::string>(p, "SwapState") << ", SwapError \""
        << prop<std::string>(p, "SwapError") << "\"";
    return p;
  }

  // swapoff failed: stopping ramswap now would hang every process with a page in its
  // swap. The supervisor goes (SIGKILL: its children outlive it), ramswap stays.
  void leave_ramswap_running() {
    ADD_FAILURE() << "swap still on " << device_ << ": ramswap (pid " << ramswap_pid_
                  << ") is LEFT RUNNING with it. Run `swapoff " << device_ << "`, then `kill "
                  << ramswap_pid_ << "`; its mount " << mount_dir_ << " goes with it.";
    keep_ramswap_ = true;
    h.send_signal(SIGKILL);
    h.wait_exit();
  }

  // What a ramswap that did not stop cleanly leaves behind: its loop device, its mount.
  void remove_ramswap_leftovers() {
    if (keep_ramswap_ || mount_dir_.empty()) return;
    if (ramswap_pid_ > 0 && runs(ramswap_pid_, kRamswapBin)) {
      ADD_FAILURE() << "ramswap (pid " << ramswap_pid_ << ") outlived the supervisor: killing it";
      kill(ramswap_pid_, SIGKILL);
      poll_until([&] { return !process_alive(ramswap_pid_); }, Ms(5000));
    }
    for (const auto& loop : loops_backed_by(mount_dir_ + "/image")) {
      ADD_FAILURE() << "detaching " << loop << ", left bound to ramswap's image";
      run_program({"losetup", "-d", loop}, {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"});
    }
    if (is_mounted(mount_dir_)) {
      ADD_FAILURE() << "unmounting " << mount_dir_ << ", left mounted";
      umount2(mount_dir_.c_str(), MNT_DETACH);
    }
  }

  Clock::time_point started_;
  std::string other_swap_;
  std::unique_ptr<MemoryCgroup> cgroup_;
  std::unique_ptr<Workload> workload_, control_;
  std::optional<int> workload_exit_;
  std::string mount_dir_, work_dir_, device_;
  pid_t ramswap_pid_ = 0;
  bool keep_ramswap_ = false;
  bool pinned_ = false;  // the cgroup is pinned at its limit (step 6)
  int oom_wakes_ = 0;    // writes that woke a workload left in the OOM wait after the pin
  Peaks peaks_;
};

TEST_F(PressureTest, WorkloadSwapsThroughLockedRamswapAndLosesNothing) {
  // 1. The supervisor with ramswap (locked, ready with its device) and the control.
  h.config["children"]["ramswap"] = ramswap_child();
  h.config["children"]["control"] = control_child();
  start_daemon();
  const auto ramswap_started = Clock::now();

  // 2. The supervisor turns swap on on the device ramswap reported, once ramswap is ready
  // and verified locked: mkswap, then swapon at the priority configured.
  const Properties ramswap = ramswap_with_swap_on();
  ASSERT_FALSE(HasFailure());
  const double swap_on_seconds = seconds_since(ramswap_started);
  // ramswap also prints the device it reported on its stdout (the supervisor's log here,
  // unless a journal takes it): the same one.
  const std::string log = h.log_text();
  if (log.find("/dev/loop") != std::string::npos) {
    EXPECT_NE(log.find("\n" + device_ + "\n"), std::string::npos) << log;
  }
  EXPECT_TRUE(prop<bool>(ramswap, "IsLocked"));
  EXPECT_TRUE(prop<bool>(ramswap, "MustBeLocked"));
  EXPECT_GE(test::vm_lck(ramswap_pid_), kRamswapMiB * kMiB);
  EXPECT_EQ(prop<std::string>(ramswap, "SwapDevice"), device_);
  EXPECT_EQ(prop<std::string>(ramswap, "SwapError"), "");
  const auto area = swap_area(device_);
  ASSERT_TRUE(area.has_value());
  EXPECT_EQ(area->priority, kSwapPriority);
  EXPECT_EQ(prop<std::uint64_t>(ramswap, "SwapSizeBytes"), area->size_kib * kKiB);
  EXPECT_LT(h.line_index("ramswap: ready"),
            h.line_index("ramswap: ready and locked; turning swap"));
  const std::uint64_t written_before = bytes_written(device_);

  // 3. The control, then the workload, moved into the memory cgroup before they allocate.
  const Properties control = wait_child_state("control", "running");
  control_->pid = static_cast<pid_t>(prop<std::uint32_t>(control, "Pid"));
  ASSERT_GT(control_->pid, 0);
  ASSERT_TRUE(cgroup_->add(control_->pid)) << std::strerror(errno);
  const long control_go = control_->command("go");
  ASSERT_TRUE(eventually([&] { return control_->done(control_go); }, kPhaseDeadline))
      << "the control never wrote its " << kControlMiB << " MiB";
  spawn_workload();
  ASSERT_TRUE(cgroup_->add(workload_->pid)) << std::strerror(errno);
  EXPECT_TRUE(cgroup_->contains(workload_->pid));
  EXPECT_TRUE(cgroup_->contains(control_->pid));
  const auto pressure_start = Clock::now();
  const long workload_go = workload_->command("go");
  ASSERT_TRUE(eventually([&] { return workload_->done(workload_go); }, kPhaseDeadline))
      << "the workload never wrote its " << kWorkloadMiB << " MiB (exit "
      << workload_exit().value_or(999) << ")";
  const double write_seconds = seconds_since(pressure_start);

  // 4. The peak: both hold their memory. The supervisor's view must agree with /proc.
  Properties ramswap_at_peak, control_at_peak;
  EXPECT_TRUE(eventually([&] {
    try {
      control_at_peak = client().child_properties("control");
      ramswap_at_peak = client().child_properties("ramswap");
    } catch (const sdbus::Error&) {
      return false;
    }
    const auto swapped = control_at_peak.find("SwappedBytes");
    return swapped != control_at_peak.end() && swapped->second.get<std::uint64_t>() > 0;
  })) << "the supervisor never saw the control's pages in swap";
  const auto peak_area = swap_area(device_);
  ASSERT_TRUE(peak_area.has_value());
  const std::uint64_t used_at_peak = peak_area->used_kib * kKiB;
  const std::uint64_t workload_swap = vmswap(workload_->pid), control_swap = vmswap(control_->pid);
  const std::uint64_t ramswap_lck = test::vm_lck(ramswap_pid_);
  const std::uint64_t through_device = bytes_written(device_) - written_before;
  EXPECT_GE(used_at_peak, kMinSwappedMiB * kMiB);
  EXPECT_GE(workload_swap, kMinSwappedMiB * kMiB);
  if (other_swap_.empty()) {  // else some of their pages may be in another area
    EXPECT_GE(used_at_peak, workload_swap + control_swap);
  }
  EXPECT_GE(through_device, kMinSwappedMiB * kMiB) << "written to " << device_;
  EXPECT_GT(control_swap, 0u);
  EXPECT_TRUE(prop<bool>(ramswap_at_peak, "IsLocked"));
  EXPECT_TRUE(prop<bool>(ramswap_at_peak, "FullyLocked"));
  EXPECT_EQ(prop<std::uint64_t>(ramswap_at_peak, "SwappedBytes"), 0u);
  EXPECT_GE(prop<std::uint64_t>(ramswap_at_peak, "LockedBytes"), kRamswapMiB * kMiB);
  EXPECT_FALSE(prop<bool>(control_at_peak, "IsLocked"));
  EXPECT_FALSE(prop<bool>(control_at_peak, "MustBeLocked"));
  EXPECT_TRUE(h.wait_for_status("1/2 children locked, 2 running")) << h.last_status();
  const std::string status_line = h.last_status();
  // The supervisor's figures of the swap come from /proc/swaps at its next tick.
  std::uint64_t swap_used_bus = 0;
  EXPECT_TRUE(eventually([&] {
    swap_used_bus = prop<std::uint64_t>(client().child_properties("ramswap"), "SwapUsedBytes");
    return swap_used_bus >= kMinSwappedMiB * kMiB;
  })) << "SwapUsedBytes "
      << swap_used_bus;
  const RunResult status = mlockctl({"status"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("ramswap: swap " + device_ + " on, "), std::string::npos) << status.out;

  // 5. Read everything back under the same pressure: nothing lost.
  const auto verify_start = Clock::now();
  ASSERT_TRUE(both("verify")) << "the read-back did not finish";
  const double verify_seconds = seconds_since(verify_start);
  for (const Workload* w : {control_.get(), workload_.get()}) {
    const auto s = w->state();
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->pages, w->pages()) << w->name();
    EXPECT_EQ(s->wrong, 0u) << w->name() << ": first wrong page " << s->first_wrong;
  }

  // 6. A stop whose swapoff cannot succeed is refused. The cgroup is at its limit and may
  // neither OOM-kill nor swap out, so swapoff cannot take the pages back (ENOMEM): ramswap
  // must keep running with its swap on, and the caller must be told.
  const std::uint64_t used_before_off = swap_area(device_).value_or(SwapArea{}).used_kib;
  std::string refusal_untested;  // why the refusal could not be arranged, if it could not
  std::string pinned_memory;     // the cgroup's figures at the end of the refusal
  if (!(pinned_ = cgroup_->pin_at_limit(true))) {
    refusal_untested =
        std::string("cannot pin ") + cgroup_->kind() + " at its limit: " + std::strerror(errno);
  } else {
    const RunResult refused = mlockctl({"stop", "ramswap"});
    EXPECT_NE(refused.exit_code, 0) << refused.out;
    EXPECT_NE(refused.err.find("swap on " + device_ + " cannot be turned off"), std::string::npos)
        << refused.err;
    EXPECT_NE(refused.err.find("Cannot allocate memory"), std::string::npos) << refused.err;
    const Properties after = client().child_properties("ramswap");
    EXPECT_EQ(prop<std::string>(after, "State"), "running");
    EXPECT_EQ(static_cast<pid_t>(prop<std::uint32_t>(after, "Pid")), ramswap_pid_);
    EXPECT_EQ(prop<std::string>(after, "SwapState"), "on");
    EXPECT_TRUE(runs(ramswap_pid_, kRamswapBin));
    EXPECT_GT(swap_area(device_).value_or(SwapArea{}).used_kib, 0u);
    EXPECT_TRUE(h.wait_for_status("ramswap stop refused: swap on " + device_)) << h.last_status();
    pinned_memory = cgroup_->memory_report();
    EXPECT_TRUE(cgroup_->pin_at_limit(false)) << std::strerror(errno) << "; " << pinned_memory;
    pinned_ = false;
  }

  // 7. The stop, with the pages still in swap, once the cgroup may take them all back:
  // swapoff first, then ramswap stops; mlockctl returns once the swap is off.
  ASSERT_TRUE(cgroup_->set_limit(0)) << std::strerror(errno);
  const auto stop_start = Clock::now();
  const RunResult stopped = mlockctl({"stop", "ramswap"});
  const double loaded_off_seconds = seconds_since(stop_start);
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_FALSE(swap_area(device_).has_value()) << "swap still on after mlockctl stop returned";
  EXPECT_EQ(vmswap(workload_->pid) + vmswap(control_->pid), 0u);
  wait_child_state("ramswap", "stopped");
  EXPECT_LT(h.line_index("ramswap: swap on " + device_ + " is off"),
            h.line_index("ramswap: stopped"));
  EXPECT_TRUE(poll_until([&] { return loops_backed_by(mount_dir_ + "/image").empty(); }, Ms(10000)))
      << "a loop device is still bound to ramswap's image";
  EXPECT_FALSE(is_mounted(mount_dir_));
  EXPECT_TRUE(poll_until([&] { return !process_alive(ramswap_pid_); }, Ms(10000)));
  ASSERT_TRUE(both("verify")) << "the read-back after swapoff did not finish";
  for (const Workload* w : {control_.get(), workload_.get()})
    EXPECT_EQ(w->state().value_or(WorkloadState{}).wrong, 0u) << w->name() << " after swapoff";

  // 8. Started again, ramswap gets its swap on again. The workloads end; then the
  // supervisor's own stop turns that swap off before it stops ramswap.
  const pid_t first_ramswap = ramswap_pid_;
  const std::string first_device = device_;
  const RunResult started = mlockctl({"start", "ramswap"});
  EXPECT_EQ(started.exit_code, 0) << started.err;
  ramswap_with_swap_on();
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_NE(ramswap_pid_, first_ramswap);
  const WorkloadState workload_report = workload_->state().value_or(WorkloadState{});
  const WorkloadState control_report = control_->state().value_or(WorkloadState{});
  end_workloads();
  EXPECT_EQ(workload_exit_, std::optional<int>(0));
  const Properties control_end = wait_child_state("control", "exited");
  EXPECT_EQ(prop<std::int32_t>(control_end, "LastExitStatus"), 0);
  EXPECT_EQ(peaks_.ramswap_vmswap, 0u);
  EXPECT_EQ(peaks_.supervisor_vmswap, 0u);
  const pid_t supervisor_pid = h.pid();
  // The supervisor's cgroup for ramswap (BASE/child.ramswap), when it tracks children by
  // cgroup: it and BASE must go with the stop.
  std::string ramswap_cgroup = cgroup2_dir(ramswap_pid_);
  if (ramswap_cgroup.size() < 14 ||
      ramswap_cgroup.compare(ramswap_cgroup.size() - 14, 14, "/child.ramswap") != 0)
    ramswap_cgroup.clear();
  const auto shutdown_start = Clock::now();
  EXPECT_EQ(h.stop(), std::optional<int>(0));
  const double shutdown_seconds = seconds_since(shutdown_start);
  const int nth = device_ == first_device ? 2 : 1;
  const int off_line = h.line_index("ramswap: swap on " + device_ + " is off", nth);
  EXPECT_GE(off_line, 0);
  EXPECT_LT(off_line, h.line_index("ramswap: stopped", 2));

  // 9. Nothing left: no swap, loop device, mount, process or cgroup.
  EXPECT_FALSE(swap_area(device_).has_value());
  EXPECT_TRUE(poll_until([&] { return loops_backed_by(mount_dir_ + "/image").empty(); }, Ms(10000)))
      << "a loop device is still bound to ramswap's image";
  EXPECT_FALSE(is_mounted(mount_dir_));
  for (const pid_t pid : {supervisor_pid, ramswap_pid_, control_->pid})
    EXPECT_TRUE(poll_until([&] { return !process_alive(pid); }, Ms(10000))) << "pid " << pid;
  EXPECT_TRUE(cgroup_->remove());
  EXPECT_FALSE(cgroup_->exists());
  if (!ramswap_cgroup.empty()) {
    EXPECT_FALSE(fs::exists(ramswap_cgroup)) << ramswap_cgroup;
    EXPECT_FALSE(fs::exists(fs::path(ramswap_cgroup).parent_path())) << "the supervisor's base";
  }

  // 10. The figures.
  const double total_seconds = seconds_since(started_);
  std::printf(
      "pressure (%s, limit %llu MiB; other swap:%s):\n"
      "  swapped through ramswap (%s, priority %d) at the peak: %.1f MiB (workload VmSwap "
      "%.1f MiB, control VmSwap %.1f MiB, %.1f MiB written to the device); highest Used "
      "sampled: %.1f MiB\n"
      "  workload: %llu pages written in %.2f s, read back in %.2f s, %llu wrong; its own "
      "VmSwap peak %.1f MiB; control: %llu pages, %llu wrong, VmSwap peak %.1f MiB\n"
      "  ramswap: VmLck %.1f MiB, VmSwap peak %llu; supervisor VmSwap peak %llu "
      "(%ld samples)\n"
      "  supervisor at the peak: STATUS \"%s\"; D-Bus SwappedBytes control %.1f MiB, "
      "ramswap %llu, ramswap LockedBytes %.1f MiB\n"
      "  swap on %.2f s after the start (mkswap + swapon after READY and the lock check)\n"
      "  refused stop: %s; the cgroup then: %s; OOM waiters woken later: %d\n"
      "  mlockctl stop with %.1f MiB in swap (swapoff, then ramswap): %.3f s; the "
      "supervisor's stop (empty swap off, then ramswap): %.3f s\n"
      "  test time: %.1f s\n",
      cgroup_->kind().c_str(), static_cast<unsigned long long>(kCgroupLimitMiB),
      other_swap_.empty() ? " none" : other_swap_.c_str(), device_.c_str(), kSwapPriority,
      double(used_at_peak) / kMiB, double(workload_swap) / kMiB, double(control_swap) / kMiB,
      double(through_device) / kMiB, double(peaks_.swap_used_kib) / 1024,
      static_cast<unsigned long long>(workload_->pages()), write_seconds, verify_seconds,
      static_cast<unsigned long long>(workload_report.wrong),
      double(workload_report.vmswap_peak_kib) / 1024,
      static_cast<unsigned long long>(control_report.pages),
      static_cast<unsigned long long>(control_report.wrong),
      double(std::max(control_report.vmswap_peak_kib * kKiB, peaks_.control_vmswap)) / kMiB,
      double(ramswap_lck) / kMiB, static_cast<unsigned long long>(peaks_.ramswap_vmswap),
      static_cast<unsigned long long>(peaks_.supervisor_vmswap), peaks_.samples,
      status_line.c_str(), double(prop<std::uint64_t>(control_at_peak, "SwappedBytes")) / kMiB,
      static_cast<unsigned long long>(prop<std::uint64_t>(ramswap_at_peak, "SwappedBytes")),
      double(prop<std::uint64_t>(ramswap_at_peak, "LockedBytes")) / kMiB, swap_on_seconds,
      refusal_untested.empty() ? "refused, ramswap kept running" : refusal_untested.c_str(),
      pinned_memory.c_str(), oom_wakes_, double(used_before_off) / 1024, loaded_off_seconds,
      shutdown_seconds, total_seconds);
  std::printf("  ramswap's cgroup: %s\n",
              ramswap_cgroup.empty() ? "none (process groups)" : ramswap_cgroup.c_str());
  std::printf("  mlockctl status at the peak:\n%s", status.out.c_str());
  RecordProperty("swapped_mib", static_cast<int>(used_at_peak / kMiB));
  RecordProperty("workload_vmswap_mib", static_cast<int>(workload_swap / kMiB));
  RecordProperty("control_vmswap_kib", static_cast<int>(control_swap / kKiB));
  RecordProperty("ramswap_vmlck_mib", static_cast<int>(ramswap_lck / kMiB));
  RecordProperty("loaded_swapoff_ms", static_cast<int>(loaded_off_seconds * 1000));
  RecordProperty("shutdown_ms", static_cast<int>(shutdown_seconds * 1000));
  RecordProperty("test_ms", static_cast<int>(total_seconds * 1000));
}

}  // namespace
}  // namespace duende::itest
