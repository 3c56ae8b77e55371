#include "core/supervisor.hpp"

#include <algorithm>

#include "api/human_size.hpp"
#include "core/fd_budget.hpp"

namespace duende::supervisor {

using duende::mlock::Unexpected;

Supervisor::Supervisor(System& system, Config config, Loader loader, std::string notify_socket,
                       std::string preload_path)
    : system_(system),
      timers_(system),
      config_(std::move(config)),
      loader_(std::move(loader)),
      notify_socket_(std::move(notify_socket)),
      preload_path_(std::move(preload_path)),
      systemd_(system, timers_, [this] { return status_line(); }),
      monitor_(timers_, [this] { on_monitor_tick(); }),
      pass_(timers_, [this] { run_pass(); }),
      stop_retry_(timers_, [this] { schedule_pass(); }) {
  // Each child keeps its own definition; the map would hold a second, locked copy.
  for (auto& [name, spec] : config_.children)
    children_.emplace(name, std::make_unique<Child>(context(), std::move(spec)));
  config_.children.clear();
  boot_id_ = system_.boot_id();
  tracking_ = system_.process_tracking();
  if (!tracking_.cgroups)
    log_warning("children run in " + tracking_.description +
                "; a process that leaves its child's group is not tracked, locked or stopped");
}

Supervisor::~Supervisor() = default;

ChildContext Supervisor::context() {
  return ChildContext{system_, timers_, *this, notify_socket_, preload_path_};
}

const Child* Supervisor::find(const std::string& name) const {
  const auto it = children_.find(name);
  return it == children_.end() ? nullptr : it->second.get();
}

void Supervisor::start(std::optional<SavedState> saved) {
  started_at_us_ =
      std::chrono::duration_cast<std::chrono::microseconds>(system_.wall_now().time_since_epoch())
          .count();
  for (const auto& name : config_.start_order) pending_start_.insert(name);
  adopt_children(saved ? std::move(*saved) : SavedState{});
  system_.set_spare_fds(fds_spare(children_.size(), system_.fd_limit()));
  arm_monitor();
  start_due_children();
  update_state();
}

void Supervisor::arm_monitor() {
  const auto period = seconds(config_.monitor_interval_sec);
  monitor_.arm(period, period);
}

// A child may start once no child it is ordered after is still to start or starting.
// Ordering only, as systemd's After=: a failed dependency does not block it.
bool Supervisor::may_start(const Child& child) const {
  for (const auto& dep : child.spec().after) {
    const Child* d = find(dep);
    if (!d) continue;
    if (pending_start_.count(dep) || d->state() == ChildState::Starting) return false;
  }
  return true;
}

// One pass over the start order; a child that becomes ready at once (exec readiness) lets
// those after it start in the same pass. Whatever a start causes (a ready or settled
// event) only schedules the next pass: no recursion, however many children.
void Supervisor::start_due_children() {
  if (shutting_down_) return;
  for (const auto& name : config_.start_order) {
    if (!pending_start_.count(name)) continue;
    Child& child = *children_.at(name);
    if (!may_start(child)) continue;
    pending_start_.erase(name);
    child.start(false);
  }
}

// Children's events never act on the spot: they schedule one pass, run at the next round
// of the loop (a zero-delay timer), which starts or stops what became due, erases retired
// children and updates the state and STATUS= once, however many events came in between.
void Supervisor::on_child_event(Child& child, Event event) {
  switch (event) {
    case Event::Changed:
      if (observer_) observer_->child_changed(child);
      pids_changed_ = true;
      dirty_children_.insert(child.name());
      break;
    case Event::Ready:
    case Event::Settled:
      break;
    case Event::LockLost:
      if (observer_) observer_->lock_lost(child);
      break;
    case Event::SwapLost:
      if (observer_) observer_->swap_backend_lost(child);
      break;
  }
  schedule_pass();
}

void Supervisor::schedule_pass() {
  if (!pass_.armed()) pass_.arm(Clock::duration::zero());
}

void Supervisor::run_pass() {
  if (shutting_down_)
    stop_due_children();
  else
    start_due_children();
  if (!retiring_.empty()) remove_retired();
  update_state();
  if (!finishing_ && (supervisor_dirty_ || !dirty_children_.empty())) save_state();
}

void Supervisor::update_state() {
  if (!ready_sent_ && state_ == ManagerState::Starting && pending_start_.empty() &&
      std::all_of(children_.begin(), children_.end(),
                  [](const auto& c) { return c.second->start_settled(); })) {
    ready_sent_ = true;
    systemd_.ready();
  }
  ManagerState next = state_;
  if (shutting_down_) {
    next = ManagerState::Stopping;
  } else if (state_ != ManagerState::Reloading && ready_sent_) {
    const bool degraded = std::any_of(children_.begin(), children_.end(),
                                      [](const auto& c) { return c.second->in_trouble(); });
    next = degraded ? ManagerState::Degraded : ManagerState::Running;
  }
  if (next != state_) {
    state_ = next;
    if (observer_) observer_->manager_changed();
  }
  systemd_.status_changed();
}

Supervisor::Totals Supervisor::totals() const {
  Totals t;
  for (const auto& [name, child] : children_) {
    if (child->state() == ChildState::Running) ++t.running;
    if (child->is_locked()) ++t.locked;
    t.locked_bytes += child->memory().locked_bytes;
  }
  return t;
}

std::string Supervisor::status_line() const {
  if (shutting_down_) {
    // What holds the stop up, if anything does: a backend whose swap will not go off.
    for (const auto& [name, child] : children_)
      if (!child->swap_refusal().empty())
        return "stopping, waiting: " + name + " stop refused: " + child->swap_refusal();
    return "stopping";
  }
  std::vector<std::string> problems;
  for (const auto& [name, child] : children_) {
    if (child->state() == ChildState::Failed)
      problems.push_back(name + " failed: " + child->last_failure());
    else if (child->state() == ChildState::Backoff)
      problems.push_back(
          name + " restarting" +
          (child->last_failure().empty() ? std::string() : " after: " + child->last_failure()));
    else if (child->lock_lost())
      problems.push_back(name + " lost its lock");
    else if (child->io_flusher_lost())
      problems.push_back(name + " lacks IO_FLUSHER");
    else if (!child->swap_refusal().empty())
      problems.push_back(name + " stop refused: " + child->swap_refusal());
    else if (child->swap().state() == SwapState::Failed)
      problems.push_back(name + " swap failed: " + child->swap().error());
  }
  // A failed reload stays in the line until a reload succeeds: the operator must see it.
  const std::string suffix = reload_failure_.empty() ? "" : "; " + reload_failure_;
  if (!problems.empty()) {
    std::string line = "degraded: " + problems.front();
    if (problems.size() > 1) line += " (+" + std::to_string(problems.size() - 1) + " more)";
    return line + suffix;
  }
  const Totals t = totals();
  return std::to_string(t.locked) + "/" + std::to_string(children_.size()) + " children locked, " +
         std::to_string(t.running) + " running, " + human_size(t.locked_bytes) + " pinned" +
         (tracking_.cgroups ? "" : "; process groups only") + suffix;
}

// By an index rebuilt only after a child's pid may have changed: a flood of datagrams
// costs a hash lookup each, not a walk over every child.
Child* Supervisor::child_by_pid(pid_t pid) {
  if (pid <= 0) return nullptr;
  if (pids_changed_) {
    pids_changed_ = false;
    by_pid_.clear();
    by_cgroup_.clear();
    for (auto& [name, child] : children_) {
      if (child->pid() <= 0) continue;
      for (const TreeProcess& p : child->processes())
        by_pid_[static_cast<pid_t>(p.pid)] = child.get();
      by_pid_[child->pid()] = child.get();
      if (!child->process().cgroup.empty()) by_cgroup_[child->process().cgroup] = child.get();
    }
  }
  if (const auto it = by_pid_.find(pid); it != by_pid_.end() && it->second->is_active())
    return it->second;
  // A process of a tree started since the last refresh (an exec'd helper reporting its
  // lock): its cgroup says whose it is. One small /proc read per datagram of an unknown
  // sender, nothing more (the report's own /proc refresh is rate-limited by the child):
  // a flood from such a process costs no more than one from a stranger.
  if (!tracking_.cgroups) return nullptr;
  const std::string cgroup = system_.cgroup_of(pid);
  const auto owner = cgroup.empty() ? by_cgroup_.end() : by_cgroup_.find(cgroup);
  return owner != by_cgroup_.end() && owner->second->is_active() ? owner->second : nullptr;
}

void Supervisor::on_datagram(const Datagram& d) {
  Child* child = child_by_pid(d.sender);
  std::string problem;
  if (!child)
    problem = "datagram from pid " + std::to_string(d.sender) + ", not a child";
  else if (d.truncated)
    problem = child->name() + ": oversized datagram";
  if (problem.empty()) {
    const auto message = parse_notify_message(d.text);
    if (message) {
      child->handle_notify(*message, seconds(config_.full_check_interval_sec));
      return;
    }
    problem = child->name() + ": malformed datagram: " + message.error();
  }
  unsigned suppressed = 0;
  if (stray_log_limit_.allow(system_.now(), suppressed))
    log_warning("notify socket: ignored " + problem +
                (suppressed ? " (" + std::to_string(suppressed) + " more suppressed)" : ""));
}

void Supervisor::on_monitor_tick() {
  const auto now = system_.now();
  const bool coverage = now - last_full_check_ >= seconds(config_.full_check_interval_sec);
  if (coverage) last_full_check_ = now;
  for (auto& [name, child] : children_) child->refresh_memory(coverage);
  update_swaps();
  // Heap freed after a burst (a large D-Bus message, a reload) goes back to the kernel
  // rather than staying locked under MCL_FUTURE.
  if (coverage) system_.trim_heap();
  schedule_pass();  // state and STATUS= once, with whatever the refreshes changed
  if (observer_) observer_->manager_changed();  // our own VmLck moves too
}

// One read of /proc/swaps per tick, when some child's swap is on (or may be): sizes, use,
// and a swap someone turned off or on by hand.
void Supervisor::update_swaps() {
  const bool any = std::any_of(children_.begin(), children_.end(), [](const auto& c) {
    return c.second->spec().swap && (c.second->swap().active() || c.second->is_active());
  });
  if (!any) return;
  auto text = system_.read_proc_swaps();
  if (!text) return;
  const std::vector<SwapArea> areas = parse_proc_swaps(*text);
  for (auto& [name, child] : children_) child->update_swap(areas);
}

bool Supervisor::swap_busy() const {
  return std::any_of(children_.begin(), children_.end(),
                     [](const auto& c) { return c.second->swap().busy(); });
}

void Supervisor::shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  pending_start_.clear();
  log_notice("stopping " + std::to_string(children_.size()) + " children");
  systemd_.stopping();
  update_state();
  stop_due_children();
}

// Stops, in reverse `after` order, every child no still-active child is ordered after;
// reports the end (on_finished) once none is active.
void Supervisor::stop_due_children() {
  // Who is ordered after whom, as pointers, rebuilt only when the set of children changed:
  // a pass then costs one walk over the children and their dependents, no allocation.
  if (dependents_.size() != children_.size()) {
    dependents_.clear();
    for (auto& [name, child] : children_)
      dependents_.emplace_back(child.get(), std::vector<Child*>{});
    std::unordered_map<const Child*, std::size_t> index;
    for (std::size_t i = 0; i < dependents_.size(); ++i) index[dependents_[i].first] = i;
    for (auto& [name, child] : children_)
      for (const auto& dep : child->spec().after)
        if (const auto it = children_.find(dep); it != children_.end())
          dependents_[index[it->second.get()]].second.push_back(child.get());
  }
  bool any_active = false;
  const Clock::time_point retry_after = system_.now() - kStopRetry;
  for (auto& [child, after_it] : dependents_) {
    // A backend whose swap is still on must serve it while it goes off: one waiting to
    // restart (it died) comes back first, one starting is stopped once it is ready.
    const bool swap_on = child->spec().swap && child->swap().active();
    if (!child->is_active()) {
      if (child->state() != ChildState::Backoff) continue;
      if (swap_on) {
        any_active = true;
        continue;
      }
      child->stop();  // cancel the restart
      continue;
    }
    any_active = true;
    if (child->state() == ChildState::Stopping) continue;
    if (swap_on && child->state() == ChildState::Starting) continue;
    if (!std::none_of(after_it.begin(), after_it.end(),
                      [](const Child* d) { return d->is_active(); }))
      continue;
    if (child->stop_refused_since(retry_after)) {  // its swap would not go off: later
      if (!stop_retry_.armed()) stop_retry_.arm(kStopRetry);
      continue;
    }
    child->stop();
  }
  if (!any_active && !finishing_) {
    log_notice("all children stopped");
    finishing_ = true;
    save_state();            // clean: nothing left to adopt, no child files
    systemd_.drain([this] {  // STOPPING=1 and the last STATUS= reach systemd first
      finished_ = true;
      if (on_finished_) on_finished_();
    });
  }
}

// `stopping_ok`: a stop, which may also end a child a reload removed (its stop may have
// been refused) and may be forced while the supervisor is stopping.
duende::mlock::Result<Child*, ActionError> Supervisor::lookup(const std::string& name,
                                                              bool stopping_ok) {
  const auto it = children_.find(name);
  if (it == children_.end() || (retiring_.count(name) && !stopping_ok))
    return Unexpected(
        ActionError{ActionError::Kind::NoSuchChild, "no child named \"" + name + "\""});
  if (shutting_down_ && !stopping_ok)
    return Unexpected(ActionError{ActionError::Kind::InvalidState, "the supervisor is stopping"});
  return it->second.get();
}

duende::mlock::Result<void, ActionError> Supervisor::start_child(const std::string& name) {
  auto child = lookup(name);
  if (!child) return Unexpected(child.error());
  const ChildState s = (*child)->state();
  if (s == ChildState::Starting || s == ChildState::Running)
    return Unexpected(
        ActionError{ActionError::Kind::InvalidState, name + " is already " + to_string(s)});
  pending_start_.erase(name);
  log_notice(LogFields{name}, name + ": start requested");
  (*child)->start(true);
  update_state();
  return {};
}

namespace {

// The child's answer to a stop as the caller's: "" is success.
Child::StopDone stop_outcome(Supervisor::ActionDone done) {
  if (!done) return {};
  return [done = std::move(done)](const std::string& refusal) {
    if (refusal.empty())
      done({});
    else
      done(Unexpected(ActionError{ActionError::Kind::SwapBusy, refusal}));
  };
}

}  // namespace

duende::mlock::Result<void, ActionError> Supervisor::stop_child(const std::string& name, bool force,
                                                                ActionDone done) {
  auto child = lookup(name, force || retiring_.count(name));
  if (!child) return Unexpected(child.error());
  const ChildState s = (*child)->state();
  if (s == ChildState::Stopped)
    return Unexpected(ActionError{ActionError::Kind::InvalidState, name + " is already stopped"});
  pending_start_.erase(name);
  if (force)
    log_warning(LogFields{name},
                name + ": forced stop requested: it stops even if its swap cannot be turned off");
  else
    log_notice(LogFields{name}, name + ": stop requested");
  (*child)->stop(force, stop_outcome(std::move(done)));
  update_state();
  return {};
}

duende::mlock::Result<void, ActionError> Supervisor::restart_child(const std::string& name,
                                                                   ActionDone done) {
  auto child = lookup(name);
  if (!child) return Unexpected(child.error());
  pending_start_.erase(name);
  log_notice(LogFields{name}, name + ": restart requested");
  (*child)->restart(true, stop_outcome(std::move(done)));
  update_state();
  return {};
}

void Supervisor::collect_garbage() { graveyard_.clear(); }

}  // namespace duende::supervisor
