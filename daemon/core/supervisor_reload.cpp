// Reload: re-reading the configuration, refusing a bad one whole, and applying the
// difference (removed children stop, added ones start, changed ones restart).
#include <algorithm>

#include "core/fd_budget.hpp"
#include "core/supervisor.hpp"

namespace duende::supervisor {

using duende::mlock::Unexpected;

duende::mlock::Result<void, ActionError> Supervisor::reload() {
  if (shutting_down_) {
    log_warning("reload ignored: the supervisor is stopping");
    return Unexpected(ActionError{ActionError::Kind::InvalidState, "the supervisor is stopping"});
  }
  const ManagerState before = state_;
  state_ = ManagerState::Reloading;
  if (observer_) observer_->manager_changed();
  systemd_.reloading();
  log_notice("reloading configuration");
  ConfigResult loaded = loader_();
  if (!loaded) {
    std::string all;
    for (const ConfigProblem& p : loaded.error()) {
      log_error("reload: " + p.to_string());
      all += (all.empty() ? "" : "\n") + p.to_string();
    }
    const std::string count = std::to_string(loaded.error().size()) + " problem(s)";
    log_error("reload failed: " + count + "; keeping the running configuration");
    return refuse_reload(before, "reload failed: " + count + ", running configuration kept",
                         std::move(all));
  }
  if (auto problem = fd_budget_problem(*loaded, system_.fd_limit())) {
    log_error("reload: " + *problem);
    log_error("reload failed; keeping the running configuration");
    return refuse_reload(before,
                         "reload failed: too many children for the file descriptor limit, "
                         "running configuration kept",
                         std::move(*problem));
  }
  reload_failure_.clear();
  apply(std::move(*loaded));
  end_reload(before);
  return {};
}

// The running configuration stays; `status` stays in STATUS= until a reload succeeds.
duende::mlock::Unexpected<ActionError> Supervisor::refuse_reload(ManagerState before,
                                                                 std::string status,
                                                                 std::string message) {
  reload_failure_ = std::move(status);
  end_reload(before);
  return Unexpected(ActionError{ActionError::Kind::ConfigInvalid, std::move(message)});
}

void Supervisor::end_reload(ManagerState before) {
  state_ = before;
  if (observer_) observer_->manager_changed();
  if (ready_sent_) systemd_.ready();  // during start-up, READY=1 waits for the children
  update_state();
  system_.trim_heap();  // what parsing freed goes back rather than staying locked
}

void Supervisor::apply(Config next) {
  dependents_.clear();  // `after` lists may change
  // Collected first: stopping a child without a process settles it at once, and a
  // settled retiring child is erased from children_ (remove_retired()).
  std::vector<std::string> removed;
  for (const auto& [name, child] : children_)
    if (!next.children.count(name) && !retiring_.count(name)) removed.push_back(name);
  for (const auto& name : removed) {
    log_notice(LogFields{name}, name + ": removed from the configuration; stopping");
    pending_start_.erase(name);
    retiring_.insert(name);
    children_.at(name)->stop();
  }
  for (auto& [name, child_config] : next.children) {
    const auto it = children_.find(name);
    if (it == children_.end()) {
      log_notice(LogFields{name}, name + ": added to the configuration");
      auto& child = children_[name] = std::make_unique<Child>(context(), std::move(child_config));
      pending_start_.insert(name);
      if (observer_) observer_->child_added(*child);
    } else if (retiring_.erase(name)) {
      log_notice(LogFields{name}, name + ": back in the configuration");
      it->second->replace_spec(std::move(child_config));
    } else if (!(it->second->spec() == child_config)) {
      log_notice(LogFields{name}, name + ": definition changed; restarting");
      it->second->replace_spec(std::move(child_config));
    }
  }
  next.children.clear();  // moved into the children, as at start
  const bool monitor_changed = next.monitor_interval_sec != config_.monitor_interval_sec;
  next.start_order.erase(
      std::remove_if(next.start_order.begin(), next.start_order.end(),
                     [this](const std::string& n) { return retiring_.count(n); }),
      next.start_order.end());
  config_ = std::move(next);
  // Before any added child starts: room the kept files took is given back first.
  system_.set_spare_fds(fds_spare(children_.size(), system_.fd_limit()));
  if (monitor_changed) arm_monitor();
  start_due_children();
  remove_retired();
}

// Erases retired children whose process is gone. Runs from reload and from settle
// events, never from inside the child's own call stack (see on_child_event).
void Supervisor::remove_retired() {
  for (auto it = retiring_.begin(); it != retiring_.end();) {
    const auto child = children_.find(*it);
    if (child != children_.end() && child->second->is_active()) {
      ++it;
      continue;
    }
    if (child != children_.end()) {
      dependents_.clear();
      graveyard_.push_back(std::move(child->second));
      children_.erase(child);
    }
    if (observer_) observer_->child_removed(*it);
    dirty_children_.insert(*it);  // its state file goes, and its stored pidfd
    system_.forget_stored_handle(child_state_key(*it));
    it = retiring_.erase(it);
  }
}

}  // namespace duende::supervisor
