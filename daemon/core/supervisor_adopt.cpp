// The supervisor's memory across its own deaths: the state file it keeps up to date, and
// the adoption of the children an earlier supervisor process left running.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/supervisor.hpp"

namespace duende::supervisor {

SavedSupervisor Supervisor::saved_supervisor() const {
  SavedSupervisor s;
  s.boot_id = boot_id_;
  s.pid = system_.own_pid();
  s.started_at_us = started_at_us_;
  s.restarts = restarts_;
  s.reexecs = reexecs_;
  s.clean = finishing_;
  return s;
}

SavedChild Supervisor::saved_child(const Child& child) const {
  SavedChild c = child.saved();
  c.boot_id = boot_id_;
  return c;
}

// `written` is a hash of the text last written, not the text: a thousand children's
// records would keep a megabyte of locked heap to save a rewrite. A collision (2^-64) skips
// one write until the record changes again.
void Supervisor::write_state(const std::string& key, const std::string& text,
                             std::optional<std::size_t>& written) {
  const std::size_t hash = std::hash<std::string>{}(text);
  if (written == hash) return;
  if (const int e = system_.save_state(key, text); e != 0) {
    unsigned suppressed = 0;
    if (save_log_limit_.allow(system_.now(), suppressed))
      log_error("cannot write the state file " + key + ": " + std::strerror(e) +
                "; a supervisor restarted now might not find every child");
    return;
  }
  written = hash;
}

// After every pass: the files of the children that changed (pid, state, counters), one
// small file each, so a start of one child among thousands writes one file. Identical
// text is not written again; a failed write is tried again at the next change.
void Supervisor::save_state() {
  if (finishing_) {  // every child stopped: the next supervisor starts afresh
    for (const auto& [name, text] : saved_children_) system_.remove_state(child_state_key(name));
    for (const auto& [name, child] : children_)
      system_.forget_stored_handle(child->stored_handle_name());
    saved_children_.clear();
    dirty_children_.clear();
    supervisor_dirty_ = true;
  }
  if (shutting_down_ && !finishing_) {
    // Stopping everything: the records stay as they were until all are stopped and
    // removed together. (A crash meanwhile: the next start adopts what still runs.)
    dirty_children_.clear();
  }
  if (supervisor_dirty_) {
    supervisor_dirty_ = false;
    write_state(kSupervisorStateKey, to_json(saved_supervisor()), saved_supervisor_);
  }
  for (const std::string& name : dirty_children_) {
    const auto it = children_.find(name);
    if (it == children_.end()) {
      system_.remove_state(child_state_key(name));
      saved_children_.erase(name);
      continue;
    }
    write_state(child_state_key(name), to_json(saved_child(*it->second)), saved_children_[name]);
  }
  dirty_children_.clear();
}

int Supervisor::prepare_reexec(int notify_fd) {
  SavedSupervisor s = saved_supervisor();
  s.reexec = true;
  s.notify_fd = notify_fd;
  for (const auto& [name, child] : children_) {
    SavedChild c = saved_child(*child);
    if (child->is_active()) {
      system_.keep_across_exec(child->process(), true);
      c.fd = child->process().handle;
    }
    if (const int e = system_.save_state(child_state_key(name), to_json(c)); e != 0) {
      abort_reexec();
      return e;
    }
  }
  // Last: the record that says the descriptors are open, once every child file names its.
  if (const int e = system_.save_state(kSupervisorStateKey, to_json(s)); e != 0) {
    abort_reexec();
    return e;
  }
  return 0;
}

void Supervisor::abort_reexec() {
  for (const auto& [name, child] : children_) {
    if (child->is_active()) system_.keep_across_exec(child->process(), false);
    dirty_children_.insert(name);  // the files name descriptors that are private again
  }
  saved_children_.clear();
  saved_supervisor_.reset();
  supervisor_dirty_ = true;
  save_state();
}

void Supervisor::adopt_children(SavedState saved) {
  // The service manager's store: one pidfd per child that was running.
  std::map<std::string, int> stored;
  const std::string prefix = "child.";
  for (StoredHandle& h : system_.take_stored_handles()) {
    const std::string name = h.name.rfind(prefix, 0) == 0 ? h.name.substr(prefix.size()) : "";
    if (name.empty() || stored.count(name)) {
      system_.close_handle(h.fd);
      continue;
    }
    stored[name] = h.fd;
  }
  const SavedSupervisor& before = saved.supervisor;
  const bool reexec = before.reexec && before.pid == system_.own_pid();
  const auto other_boot =
      std::remove_if(saved.children.begin(), saved.children.end(),
                     [this](const SavedChild& c) { return c.boot_id != boot_id_; });
  if (other_boot != saved.children.end()) {
    log_warning("state: " + std::to_string(saved.children.end() - other_boot) +
                " child record(s) from another boot; ignored");
    for (auto it = other_boot; it != saved.children.end(); ++it)
      system_.remove_state(child_state_key(it->name));
    saved.children.erase(other_boot, saved.children.end());
  }
  const bool follows = before.pid != 0 && !before.clean && before.boot_id == boot_id_;
  if (follows) {
    if (reexec) {
      reexecs_ = before.reexecs + 1;
      restarts_ = before.restarts;
      started_at_us_ = before.started_at_us;
    } else {
      reexecs_ = before.reexecs;
      restarts_ = before.restarts + 1;
    }
  }
  std::size_t adopted = 0;
  std::size_t changed = 0;
  std::string gone;
  for (SavedChild& entry : saved.children) {
    // Descriptors named by a re-exec are open in this process; anyone else's are not.
    int fd = reexec ? entry.fd : -1;
    if (const auto it = stored.find(entry.name); it != stored.end()) {
      if (fd < 0)
        fd = it->second;
      else
        system_.close_handle(it->second);
      stored.erase(it);
    }
    const auto it = children_.find(entry.name);
    if (it == children_.end()) {
      if (entry.pid == 0) {
        system_.close_handle(fd);
        system_.remove_state(child_state_key(entry.name));
        continue;
      }
      // No longer configured: stopped as a reload removing it would.
      ChildSpec spec;
      spec.name = entry.name;
      spec.exec = entry.command.empty() ? std::vector<std::string>{"/"} : entry.command;
      spec.stop_signal = entry.stop_signal;
      spec.stop_timeout_sec = entry.stop_timeout_sec;
      spec.restart = RestartPolicy::No;
      spec.mlock = mlock::MlockConfig::builder().required(false).build();
      auto child = std::make_unique<Child>(context(), spec);
      entry.state = ChildState::Stopping;
      entry.then_start = false;
      dirty_children_.insert(entry.name);  // its file: removed once it is gone
      if (child->adopt(entry, fd)) {
        log_notice(LogFields{entry.name},
                   entry.name + ": no longer in the configuration; stopping it");
        retiring_.insert(entry.name);
        children_.emplace(entry.name, std::move(child));
        dependents_.clear();
      }
      continue;
    }
    Child& child = *it->second;
    if (entry.pid == 0) {
      system_.close_handle(fd);
      if (!child.restore(entry)) pending_start_.erase(entry.name);
      continue;
    }
    // A process started from an older definition is stopped as that one said (its stop
    // signal and timeout), then started from the new one.
    const ChildSpec configured = child.spec();
    const bool definition_changed = entry.definition != definition_hash(configured);
    if (definition_changed) {
      ChildSpec as_started = configured;
      as_started.stop_signal = entry.stop_signal;
      as_started.stop_timeout_sec = entry.stop_timeout_sec;
      child.replace_spec(std::move(as_started));  // no process yet: only the spec changes
    }
    if (!child.adopt(entry, fd)) {
      gone += (gone.empty() ? "" : ", ") + entry.name;
      if (definition_changed) child.replace_spec(configured);
      child.restore(entry);
      continue;
    }
    ++adopted;
    pending_start_.erase(entry.name);
    if (definition_changed) {
      ++changed;
      log_notice(LogFields{entry.name},
                 entry.name + ": its definition changed while the supervisor was down; restarting");
      child.replace_spec(configured);  // stops it, then starts it from `configured`
    }
  }
  for (const auto& [name, fd] : stored) {
    log_warning("the service manager handed back a pidfd for \"" + name +
                "\", which the state file does not name; closed");
    system_.close_handle(fd);
    system_.forget_stored_handle(prefix + name);
  }
  if (follows || adopted > 0)
    log_notice(std::string(reexec ? "re-executed" : "restarted") + ": adopted " +
               std::to_string(adopted) + " running children" +
               (changed ? " (" + std::to_string(changed) + " restarted: definition changed)" : "") +
               (gone.empty() ? "" : "; gone: " + gone));
  supervisor_dirty_ = true;
  for (const auto& [name, child] : children_) dirty_children_.insert(name);
}

}  // namespace duende::supervisor
