// The part of Child that manages the swap it backs: on once it is ready and verified
// locked, off before any stop (the stop is refused when that fails, unless forced), and
// what a death with the swap on means.
#include "api/swap_fields.hpp"
#include "core/child.hpp"
#include "os/log.hpp"

namespace duende::supervisor {
namespace {

constexpr std::size_t kMaxDevicePath = 4096;

}  // namespace

std::string Child::swap_device() const {
  if (!spec_.swap) return "";
  return spec_.swap->device.empty() ? reported_swap_device_ : spec_.swap->device;
}

// The device a child names in its readiness, for a "swap" without "device". Only an
// absolute path, and never another device while the swap it knows is on or being changed
// (a backend that died with its swap on and came back serves the same one).
void Child::note_swap_device(const std::string& device) {
  if (!spec_.swap || !spec_.swap->device.empty() || device == reported_swap_device_) return;
  if (device.empty() || device.front() != '/' || device.size() > kMaxDevicePath) {
    log_warning(about(), name() + ": ignored " + std::string(kSwapDeviceField) +
                             ": not an absolute path of at most 4096 bytes");
    return;
  }
  if ((swap_.active() || swap_.busy()) && device != swap_.device()) {
    log_warning(about(), name() + ": ignored " + std::string(kSwapDeviceField) + "=" + device +
                             ": its swap on " + swap_.device() + " is on");
    return;
  }
  reported_swap_device_ = device;
  ctx_.listener.on_child_event(*this, ChildListener::Event::Changed);
  maybe_turn_swap_on();
}

// Once per process: ready, locked (VmLck > 0) and not in trouble, with a device known.
void Child::maybe_turn_swap_on() {
  if (!spec_.swap || swap_tried_ || stop_pending_ || state_ != ChildState::Running) return;
  if (!is_locked() || lock_in_trouble()) return;
  const std::string device = swap_device();
  if (device.empty()) return;  // until it names one
  swap_tried_ = true;
  log_info(about(), name() + ": ready and locked; turning swap on " + device + " on");
  swap_.turn_on(device, *spec_.swap);
}

void Child::on_swap_off(std::optional<std::string> error) {
  if (!stop_pending_) return;  // the process ended meanwhile: nothing waits for this
  stop_pending_ = false;
  if (!error) {
    swap_refusal_.clear();
    signal_stop();
    return;
  }
  if (force_stop_) {
    log_critical(about(),
                 name() + ": swap on " + swap_.device() + " cannot be turned off (" + *error +
                     "); stopping it anyway as forced: processes whose pages are there will hang");
    signal_stop();
    return;
  }
  refuse_stop(*error);
}

// The child keeps running as it was; nothing that was to follow the stop happens.
void Child::refuse_stop(const std::string& error) {
  start_after_stop_ = automatic_restart_ = failing_start_ = false;
  next_spec_.reset();
  swap_refusal_ = "swap on " + swap_.device() + " cannot be turned off: " + error;
  stop_refused_at_ = ctx_.system.now();
  log_error(about(), name() + ": stop refused: " + swap_refusal_ +
                         "; it keeps running (mlockctl stop --force stops it anyway)");
  ctx_.listener.on_child_event(*this, ChildListener::Event::Changed);
  finish_stop_waiters(swap_refusal_);
}

void Child::finish_stop_waiters(const std::string& refusal) {
  auto waiters = std::move(stop_waiters_);
  stop_waiters_.clear();
  for (auto& done : waiters) done(refusal);
}

// Called as its process ends, before anything else: whether the swap it backs was on
// while it was not being stopped (a forced stop already said what it costs).
bool Child::swap_died_with(ChildState was) {
  if (!spec_.swap || !swap_.active() || was == ChildState::Stopping) return false;
  log_critical(about(kMessageIdSwapBackendLost),
               name() + " died with swap on " + swap_.device() +
                   ": processes whose pages are there will hang" +
                   (stop_pending_ ? "" : "; restarting it, whatever its restart policy"));
  swap_.backend_lost();
  ctx_.listener.on_child_event(*this, ChildListener::Event::SwapLost);
  return true;
}

void Child::update_swap(const std::vector<SwapArea>& areas) {
  if (!spec_.swap) return;
  swap_.update(areas);
  if (!swap_.active()) swap_refusal_.clear();
}

// A taken-over process: the device the earlier supervisor knew, and whether the kernel has
// it on now. A swap it had on and that is off now was turned off by someone: not again on.
void Child::adopt_swap(const SavedChild& saved) {
  stop_pending_ = force_stop_ = false;
  swap_refusal_.clear();
  reported_swap_device_.clear();
  if (!spec_.swap) return;
  if (spec_.swap->device.empty()) reported_swap_device_ = saved.swap_device;
  const std::string device = swap_device();
  std::vector<SwapArea> areas;
  if (auto text = ctx_.system.read_proc_swaps()) areas = parse_proc_swaps(*text);
  swap_.adopt(device, areas);
  swap_tried_ = saved.swap_active || swap_.active();
  if (swap_.active()) log_notice(about(), name() + ": its swap on " + device + " is on");
}

}  // namespace duende::supervisor
