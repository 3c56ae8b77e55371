// Drives the real ramswap binary (examples/ramswap) for a test: a private directory made
// with mkdtemp (mount point, NOTIFY_SOCKET), ramswap's stderr and stdout on pipes, its
// readiness datagram read for the device it serves, and helpers for swap on that device.
//
// Swap, loop devices and mounts belong to the whole host, and other tests run beside
// these. So the harness touches only what it made (the device named in its own ramswap's
// READY, the mount under its own directory), every wait has a deadline, and the
// destructor undoes everything on every path, in the one safe order: swapoff, then stop
// ramswap (never while its swap is on: that would hang whatever has pages there), then
// detach a loop device still bound to its image, unmount, remove the directory.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace duende::itest {

inline constexpr const char* kRamswapBin = RAMSWAP_BIN;
inline constexpr std::chrono::milliseconds kRamswapDeadline{20000};

// Why ramswap cannot be tested here, or nullptr: it needs root, /dev/fuse and
// /dev/loop-control, and a build without sanitizers (ASan cannot lock its shadow memory).
const char* ramswap_unavailable_reason();

class RamswapHarness {
 public:
  RamswapHarness();
  ~RamswapHarness();
  RamswapHarness(const RamswapHarness&) = delete;
  RamswapHarness& operator=(const RamswapHarness&) = delete;

  // Starts ramswap with `args` plus --mount <own dir> (unless `with_mount` is false),
  // NOTIFY_SOCKET and DUENDE_MLOCK_REPORT=1. Does not wait.
  void start(const std::vector<std::string>& args, bool with_mount = true);
  // Waits for READY=1 and returns the X_DUENDE_SWAP_DEVICE it named ("" on timeout), and
  // sets ready_seconds() (from start()).
  std::string wait_ready();
  // True when ramswap's stderr shows `text` before the deadline.
  bool wait_for_log(const std::string& text, std::chrono::milliseconds deadline = kRamswapDeadline);
  // Waits for ramswap to exit: its exit code, -N when killed by signal N, nullopt when it
  // is still running at the deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds deadline = kRamswapDeadline);
  void send_signal(int signal) const;
  bool alive();

  // mkswap then swapon(2) of the device; false (with the reason in the log) on failure.
  // swapon_seconds() is the swapon(2) call alone.
  bool swap_on();
  bool swap_off();

  pid_t pid() const { return pid_; }
  const std::string& device() const { return device_; }
  const std::string& mount_dir() const { return mount_dir_; }
  std::string image_path() const { return mount_dir_ + "/image"; }
  const std::string& log();                  // stderr so far
  const std::string& stdout_text();          // stdout so far
  std::vector<std::string> notifications();  // every datagram so far
  double ready_seconds() const { return ready_seconds_; }
  double swapon_seconds() const { return swapon_seconds_; }

 private:
  void drain();
  void cleanup();
  std::string dir_, mount_dir_, socket_path_, device_;
  int notify_fd_ = -1, err_fd_ = -1, out_fd_ = -1;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  bool swap_is_on_ = false;
  std::string log_, out_;
  std::vector<std::string> datagrams_;
  std::chrono::steady_clock::time_point started_;
  double ready_seconds_ = 0, swapon_seconds_ = 0;
};

// The Size column of /proc/swaps for `device` in KiB; nullopt when it is not listed.
std::optional<std::uint64_t> swap_size_kib(const std::string& device);
// The loop devices ("/dev/loopN") whose backing file is `path` (from /sys/block).
std::vector<std::string> loops_backed_by(const std::string& path);
// True when /proc/self/mountinfo has a mount at `dir`.
bool is_mounted(const std::string& dir);
// One line of /sys/block/loopN/loop/<attribute>, "" when absent.
std::string loop_attribute(const std::string& device, const std::string& attribute);

}  // namespace duende::itest
