// The swap a child backs: turning it on (mkswap, swapon) and off (swapoff) through helper
// processes (System::run_tool), never in the loop itself: swapoff pages everything on the
// device back in (seconds to minutes), and a swapon whose backend misbehaves can hang in
// the kernel. Each helper has a deadline; past it the helper is killed and the step
// counts as failed. Whether the kernel has the swap on is told by /proc/swaps.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/swap_fields.hpp"
#include "config/config.hpp"
#include "core/proc_swaps.hpp"
#include "core/timer_queue.hpp"
#include "os/system.hpp"

namespace duende::supervisor {

// The util-linux tools (Debian: /sbin is /usr/sbin with the merged /usr).
inline constexpr const char* kMkswapPath = "/sbin/mkswap";
inline constexpr const char* kSwaponPath = "/sbin/swapon";
inline constexpr const char* kSwapoffPath = "/sbin/swapoff";

class SwapControl {
 public:
  static constexpr Clock::duration kMkswapTimeout = std::chrono::seconds(60);
  static constexpr Clock::duration kSwaponTimeout = std::chrono::seconds(60);
  // swapoff reads every page on the device back into memory; past this it is killed
  // (the kernel then leaves the swap on) and the stop is refused.
  static constexpr Clock::duration kSwapoffTimeout = std::chrono::minutes(5);

  // `on_change`: something observable changed. `on_off`: a turn_off() that returned true
  // has ended: nullopt when the swap is off, else why it is still on. Both run from the
  // loop (a helper's end, a deadline), never from inside a call of this class.
  SwapControl(System& system, TimerQueue& timers, std::string owner,
              std::function<void()> on_change,
              std::function<void(std::optional<std::string>)> on_off);
  ~SwapControl();  // a helper still running is killed and forgotten
  SwapControl(const SwapControl&) = delete;
  SwapControl& operator=(const SwapControl&) = delete;

  // Turns `device` on as `spec` says (mkswap first when asked, then swapon -p PRIORITY),
  // unless a helper runs. A device /proc/swaps lists already is taken as on: never two
  // swapons.
  void turn_on(const std::string& device, const SwapSpec& spec);
  // Before a stop. False: nothing to turn off (the stop may go on now). True: a swapoff
  // started (or starts once a running swapon ends): on_off() tells how it ended.
  bool turn_off();
  // A new process of the backend starts: a failure of the last one's swap that left the
  // swap off is forgotten.
  void new_backend();
  // The backend died: the swap (if on) now has nobody serving it.
  void backend_lost();
  // A supervisor taking over a running child: whether `device` is on, from `areas`.
  void adopt(const std::string& device, const std::vector<SwapArea>& areas);
  // The figures of its area from a fresh read of /proc/swaps; a swap someone else turned
  // off (or on) is noticed here. Ignored while a helper runs.
  void update(const std::vector<SwapArea>& areas);

  SwapState state() const { return state_; }
  // The kernel has it on, as far as the last /proc/swaps read and helper tell.
  bool active() const { return active_; }
  bool busy() const { return tool_ >= 0; }
  const std::string& device() const { return device_; }
  const std::string& error() const { return error_; }
  std::uint64_t size_bytes() const { return size_bytes_; }
  std::uint64_t used_bytes() const { return used_bytes_; }

 private:
  enum class Step { Mkswap, Swapon, Swapoff };
  void run(Step step, std::vector<std::string> argv, Clock::duration timeout);
  void on_tool(ToolResult result);
  void on_timeout();
  void finish(bool ok, const std::string& why);
  void after_swapon(bool ok, const std::string& why);
  void after_swapoff(bool ok, const std::string& why);
  std::optional<std::vector<SwapArea>> read_areas();
  bool listed();
  void set(SwapState state, std::string error);

  System& system_;
  std::string owner_;
  std::function<void()> on_change_;
  std::function<void(std::optional<std::string>)> on_off_;
  Timer deadline_;
  SwapSpec spec_;
  std::string device_;
  SwapState state_ = SwapState::Off;
  std::string error_;
  bool active_ = false;
  bool off_wanted_ = false;  // turn_off() while activating
  int tool_ = -1;
  std::string failed_start_;  // why the helper could not be started
  Step step_ = Step::Swapon;
  Clock::duration timeout_{};
  std::uint64_t size_bytes_ = 0;
  std::uint64_t used_bytes_ = 0;
};

}  // namespace duende::supervisor
