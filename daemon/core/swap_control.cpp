#include "core/swap_control.hpp"

#include <cerrno>
#include <cstring>
#include <utility>

#include "os/log.hpp"

namespace duende::supervisor {
namespace {

const char* step_name(int step) {
  static const char* const names[] = {"mkswap", "swapon", "swapoff"};
  return names[step];
}

// The tool's own words (its last line: "swapoff: /dev/loop7: swapoff failed: Cannot
// allocate memory") and how it ended.
std::string failure_text(const ToolResult& r) {
  std::string out = r.output;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  if (const auto nl = out.rfind('\n'); nl != std::string::npos) out.erase(0, nl + 1);
  if (out.size() > 200) out.resize(200);
  const std::string how = !r.status.known   ? "status unknown"
                          : r.status.killed ? "killed by signal " + std::to_string(r.status.code)
                                            : "exit status " + std::to_string(r.status.code);
  return out.empty() ? how : out + " (" + how + ")";
}

// What to do about the failures a sandbox makes (the packaged unit forbids swapon and
// swapoff, hides block devices and makes files read-only), in the tool's own words.
std::string sandbox_hint(const std::string& output, const std::string& device) {
  if (output.find("Operation not permitted") != std::string::npos)
    return " (the supervisor needs CAP_SYS_ADMIN and the @swap system calls: under systemd, "
           "add examples/units/swap-backend.conf)";
  if (output.find("Read-only file system") != std::string::npos)
    return " (under systemd, ProtectSystem=strict: name the swap file's directory in "
           "ReadWritePaths=, see examples/units/swap-backend.conf)";
  if (output.find("No such file or directory") != std::string::npos &&
      device.rfind("/dev/", 0) == 0)
    return " (under systemd, PrivateDevices=yes hides it: add "
           "examples/units/swap-backend.conf)";
  return "";
}

std::string seconds_text(Clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

}  // namespace

SwapControl::SwapControl(System& system, TimerQueue& timers, std::string owner,
                         std::function<void()> on_change,
                         std::function<void(std::optional<std::string>)> on_off)
    : system_(system),
      owner_(std::move(owner)),
      on_change_(std::move(on_change)),
      on_off_(std::move(on_off)),
      deadline_(timers, [this] { on_timeout(); }) {}

SwapControl::~SwapControl() {
  if (tool_ >= 0) system_.release_tool(tool_, true);
}

void SwapControl::set(SwapState state, std::string error) {
  if (state_ == state && error_ == error) return;
  state_ = state;
  error_ = std::move(error);
  on_change_();
}

std::optional<std::vector<SwapArea>> SwapControl::read_areas() {
  auto text = system_.read_proc_swaps();
  if (!text) {
    log_warning(LogFields{owner_},
                owner_ + ": cannot read /proc/swaps: " + std::strerror(text.error()));
    return std::nullopt;
  }
  return parse_proc_swaps(*text);
}

// Whether /proc/swaps lists the device, its figures updated; on a failed read, what was
// known.
bool SwapControl::listed() {
  const auto areas = read_areas();
  if (!areas) return active_;
  const SwapArea* a = find_swap_area(*areas, device_);
  size_bytes_ = a ? a->size_bytes : 0;
  used_bytes_ = a ? a->used_bytes : 0;
  return a != nullptr;
}

void SwapControl::turn_on(const std::string& device, const SwapSpec& spec) {
  if (busy()) return;
  device_ = device;
  spec_ = spec;
  off_wanted_ = false;
  if (listed()) {
    active_ = true;
    log_notice(LogFields{owner_},
               owner_ + ": swap on " + device_ + " is already active; taken as this child's");
    set(SwapState::On, "");
    return;
  }
  active_ = false;
  set(SwapState::Activating, "");
  if (spec.mkswap)
    run(Step::Mkswap, {kMkswapPath, device_}, kMkswapTimeout);
  else
    run(Step::Swapon, {}, kSwaponTimeout);
}

bool SwapControl::turn_off() {
  if (busy()) {
    if (step_ == Step::Swapoff) return true;
    off_wanted_ = true;  // after the swapon
    return true;
  }
  if (!active_ && !listed()) return false;
  active_ = true;
  set(SwapState::Deactivating, "");
  run(Step::Swapoff, {kSwapoffPath, device_}, kSwapoffTimeout);
  return true;
}

void SwapControl::run(Step step, std::vector<std::string> argv, Clock::duration timeout) {
  if (step == Step::Swapon) {
    argv = {kSwaponPath};
    if (spec_.priority >= 0) argv.insert(argv.end(), {"-p", std::to_string(spec_.priority)});
    argv.push_back(device_);
  }
  step_ = step;
  timeout_ = timeout;
  auto started = system_.run_tool(argv, [this](ToolResult r) { on_tool(std::move(r)); });
  if (!started) {
    failed_start_ = started.error().message();
    deadline_.arm(Clock::duration::zero());  // said from the loop, not from inside this call
    return;
  }
  tool_ = *started;
  deadline_.arm(timeout);
}

void SwapControl::on_tool(ToolResult result) {
  tool_ = -1;
  deadline_.disarm();
  const bool ok = result.status.known && !result.status.killed && result.status.code == 0;
  finish(ok, ok ? "" : failure_text(result) + sandbox_hint(result.output, device_));
}

void SwapControl::on_timeout() {
  if (tool_ < 0) {  // the helper could not be started
    finish(false, "cannot run it: " + std::exchange(failed_start_, ""));
    return;
  }
  system_.release_tool(std::exchange(tool_, -1), true);
  finish(false, "no answer within " + seconds_text(timeout_) + "; killed");
}

void SwapControl::finish(bool ok, const std::string& why) {
  // util-linux names itself first ("swapoff: /dev/loop7: swapoff failed: …"): said once.
  const std::string name = step_name(static_cast<int>(step_)), prefix = name + ": ";
  const std::string failure = why.rfind(prefix, 0) == 0 ? why : prefix + why;
  switch (step_) {
    case Step::Mkswap:
      if (ok && !off_wanted_) {
        run(Step::Swapon, {}, kSwaponTimeout);
        return;
      }
      after_swapon(false, ok ? "" : failure);
      return;
    case Step::Swapon:
      after_swapon(ok, failure);
      return;
    case Step::Swapoff:
      after_swapoff(ok, failure);
      return;
  }
}

void SwapControl::after_swapon(bool ok, const std::string& failure) {
  active_ = listed();  // a swapon killed at its deadline may have got there
  if (ok || active_) {
    log_notice(
        LogFields{owner_},
        owner_ + ": swap on " + device_ + " is on (" + std::to_string(size_bytes_ / 1024) + " KiB" +
            (spec_.priority >= 0 ? ", priority " + std::to_string(spec_.priority) : "") + ")");
    set(SwapState::On, "");
  } else if (!failure.empty()) {
    log_error(LogFields{owner_}, owner_ + ": cannot turn swap on " + device_ + " on: " + failure);
    set(SwapState::Failed, failure);
  } else {
    set(SwapState::Off, "");
  }
  if (!std::exchange(off_wanted_, false)) return;
  if (active_) {
    set(SwapState::Deactivating, "");
    run(Step::Swapoff, {kSwapoffPath, device_}, kSwapoffTimeout);
    return;
  }
  on_off_(std::nullopt);
}

void SwapControl::after_swapoff(bool ok, const std::string& failure) {
  active_ = listed();
  if (ok && !active_) {
    log_notice(LogFields{owner_}, owner_ + ": swap on " + device_ + " is off");
    set(SwapState::Off, "");
    on_off_(std::nullopt);
    return;
  }
  const std::string why = ok ? "swapoff: succeeded, but /proc/swaps still lists it" : failure;
  if (!active_) {  // the tool failed but the swap is gone all the same
    set(SwapState::Off, "");
    on_off_(std::nullopt);
    return;
  }
  set(SwapState::On, why);  // still on, as the kernel says; SwapError tells why it is
  on_off_(why);
}

void SwapControl::new_backend() {
  if (!active_ && !busy()) set(SwapState::Off, "");
}

void SwapControl::backend_lost() {
  if (!active_) return;
  set(SwapState::Failed, "its backend died with the swap on");
}

void SwapControl::adopt(const std::string& device, const std::vector<SwapArea>& areas) {
  device_ = device;
  const SwapArea* a = find_swap_area(areas, device_);
  active_ = a != nullptr;
  size_bytes_ = a ? a->size_bytes : 0;
  used_bytes_ = a ? a->used_bytes : 0;
  set(active_ ? SwapState::On : SwapState::Off, "");
}

void SwapControl::update(const std::vector<SwapArea>& areas) {
  if (busy() || device_.empty()) return;
  const SwapArea* a = find_swap_area(areas, device_);
  const bool changed = (a != nullptr) != active_ ||
                       (a && (a->size_bytes != size_bytes_ || a->used_bytes != used_bytes_));
  size_bytes_ = a ? a->size_bytes : 0;
  used_bytes_ = a ? a->used_bytes : 0;
  if ((a != nullptr) != active_) {
    active_ = a != nullptr;
    log_notice(LogFields{owner_}, owner_ + ": swap on " + device_ + " was turned " +
                                      (active_ ? "on" : "off") + " outside the supervisor");
    set(active_ ? SwapState::On : SwapState::Off, "");
  }
  if (changed) on_change_();
}

}  // namespace duende::supervisor
