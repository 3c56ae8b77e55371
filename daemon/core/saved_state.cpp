#include "core/saved_state.hpp"

#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace duende::supervisor {
namespace {

using Json = nlohmann::json;

constexpr const char* kFormat = "mlock-supervisor-state";

std::string dump(Json j) {
  j["format"] = kFormat;
  j["version"] = SavedSupervisor::kVersion;
  // Invalid UTF-8 (a failure text quoting a path) is replaced, never fatal.
  return j.dump(1, ' ', false, Json::error_handler_t::replace) + "\n";
}

// A whole number of type T at `key`: nlohmann's get<T>() converts a float or an
// out-of-range number unchecked (undefined behaviour), so the type and range are checked.
template <class T>
T whole(const Json& j, const char* key) {
  const Json& v = j.at(key);
  if (v.is_number_unsigned()) {
    const std::uint64_t u = v.get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    const std::int64_t i = v.get<std::int64_t>();
    if (std::numeric_limits<T>::is_signed
            ? i >= static_cast<std::int64_t>(std::numeric_limits<T>::min()) &&
                  i <= static_cast<std::int64_t>(std::numeric_limits<T>::max())
            : i >= 0 && static_cast<std::uint64_t>(i) <=
                            static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
      return static_cast<T>(i);
  }
  throw std::runtime_error(std::string(key) + ": not a whole number in range");
}

double number(const Json& j, const char* key) {
  const Json& v = j.at(key);
  if (!v.is_number()) throw std::runtime_error(std::string(key) + ": not a number");
  return v.get<double>();
}

Json parse_record(std::string_view text) {
  Json j = Json::parse(text);
  if (!j.is_object() || j.value("format", "") != kFormat)
    throw std::runtime_error("not a state record of mlock-supervisor");
  const int version = whole<int>(j, "version");
  if (version != SavedSupervisor::kVersion)
    throw std::runtime_error("state version " + std::to_string(version) + ", this is " +
                             std::to_string(SavedSupervisor::kVersion));
  return j;
}

}  // namespace

std::string to_json(const SavedSupervisor& s) {
  Json j = {{"boot_id", s.boot_id},   {"pid", s.pid},         {"started_at_us", s.started_at_us},
            {"restarts", s.restarts}, {"reexecs", s.reexecs}, {"clean", s.clean}};
  if (s.reexec) j["reexec"] = {{"notify_fd", s.notify_fd}};
  return dump(std::move(j));
}

std::string to_json(const SavedChild& c) {
  Json j = {{"name", c.name},
            {"boot_id", c.boot_id},
            {"pid", c.pid},
            {"start_time", c.start_time},
            {"definition", c.definition},
            {"state", to_string(c.state)},
            {"restarts", c.restarts},
            {"backoff_step", c.backoff_step},
            {"last_exit_status", c.last_exit_status},
            {"last_failure", c.last_failure},
            {"last_exit_code", c.last_exit_code},
            {"state_changed_at_us", c.state_changed_at_us},
            {"exited_at_us", c.exited_at_us},
            {"lock_losses", c.lock_losses},
            {"locked", c.locked},
            {"lock_report", c.lock_report},
            {"started_at_us", c.started_at_us},
            {"adopted_at_us", c.adopted_at_us},
            {"stop_signal", c.stop_signal},
            {"stop_timeout_sec", c.stop_timeout_sec},
            {"command", c.command},
            {"then_start", c.then_start}};
  if (c.fd >= 0) j["fd"] = c.fd;
  if (!c.swap_device.empty()) j["swap"] = {{"device", c.swap_device}, {"active", c.swap_active}};
  return dump(std::move(j));
}

mlock::Result<SavedSupervisor, std::string> parse_saved_supervisor(std::string_view text) {
  try {
    const Json j = parse_record(text);
    SavedSupervisor s;
    s.boot_id = j.at("boot_id").get<std::string>();
    s.pid = whole<pid_t>(j, "pid");
    s.started_at_us = whole<std::int64_t>(j, "started_at_us");
    s.restarts = whole<unsigned>(j, "restarts");
    s.reexecs = whole<unsigned>(j, "reexecs");
    s.clean = j.at("clean").get<bool>();
    if (const auto r = j.find("reexec"); r != j.end()) {
      s.reexec = true;
      s.notify_fd = whole<int>(*r, "notify_fd");
    }
    return s;
  } catch (const std::exception& e) {
    return mlock::Unexpected(std::string(e.what()));
  }
}

mlock::Result<SavedChild, std::string> parse_saved_child(std::string_view text) {
  try {
    const Json c = parse_record(text);
    SavedChild child;
    child.name = c.at("name").get<std::string>();
    child.boot_id = c.at("boot_id").get<std::string>();
    child.pid = whole<pid_t>(c, "pid");
    child.start_time = whole<std::uint64_t>(c, "start_time");
    child.definition = c.at("definition").get<std::string>();
    const auto state = parse_child_state(c.at("state").get<std::string>());
    if (!state) return mlock::Unexpected(std::string("unknown state"));
    child.state = *state;
    child.restarts = whole<unsigned>(c, "restarts");
    child.backoff_step = whole<unsigned>(c, "backoff_step");
    child.last_exit_status = whole<int>(c, "last_exit_status");
    child.last_failure = c.at("last_failure").get<std::string>();
    // Newer fields, absent from the files of an older supervisor.
    if (c.contains("last_exit_code"))
      child.last_exit_code = c.at("last_exit_code").get<std::string>();
    if (c.contains("state_changed_at_us"))
      child.state_changed_at_us = whole<std::int64_t>(c, "state_changed_at_us");
    if (c.contains("exited_at_us")) child.exited_at_us = whole<std::int64_t>(c, "exited_at_us");
    if (c.contains("lock_losses")) child.lock_losses = whole<unsigned>(c, "lock_losses");
    child.locked = c.at("locked").get<bool>();
    child.lock_report = c.at("lock_report").get<std::string>();
    child.started_at_us = whole<std::int64_t>(c, "started_at_us");
    child.adopted_at_us = whole<std::int64_t>(c, "adopted_at_us");
    child.stop_signal = whole<int>(c, "stop_signal");
    child.stop_timeout_sec = number(c, "stop_timeout_sec");
    child.command = c.at("command").get<std::vector<std::string>>();
    child.then_start = c.at("then_start").get<bool>();
    child.fd = c.contains("fd") ? whole<int>(c, "fd") : -1;
    if (const auto swap = c.find("swap"); swap != c.end()) {  // absent before swap existed
      child.swap_device = swap->at("device").get<std::string>();
      child.swap_active = swap->at("active").get<bool>();
    }
    if (child.pid < 0 || child.stop_signal < 1 || child.stop_signal > 64 ||
        !(child.stop_timeout_sec > 0 && child.stop_timeout_sec <= 31536000) ||
        child.backoff_step > 64)
      return mlock::Unexpected(std::string("a value out of range"));
    return child;
  } catch (const std::exception& e) {
    return mlock::Unexpected(std::string(e.what()));
  }
}

SavedState assemble_saved_state(const std::map<std::string, std::string>& files,
                                std::vector<std::string>& warnings) {
  SavedState state;
  if (const auto it = files.find(kSupervisorStateKey); it != files.end()) {
    auto s = parse_saved_supervisor(it->second);
    if (s)
      state.supervisor = *s;
    else
      warnings.push_back(std::string(kSupervisorStateKey) + ": " + s.error() + "; ignored");
  }
  if (state.supervisor.clean) return state;  // every child was stopped: nothing to adopt
  for (const auto& [key, text] : files) {
    if (key == kSupervisorStateKey) continue;
    auto c = parse_saved_child(text);
    if (!c) {
      warnings.push_back(key + ": " + c.error() + "; ignored");
      continue;
    }
    if (child_state_key(c->name) != key) {
      warnings.push_back(key + ": names child \"" + c->name + "\"; ignored");
      continue;
    }
    state.children.push_back(std::move(*c));
  }
  return state;
}

}  // namespace duende::supervisor
