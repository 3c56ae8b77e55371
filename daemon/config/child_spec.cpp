// Validation of one child definition ("children": {"NAME": {...}}).
#include <algorithm>
#include <climits>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_internal.hpp"

namespace duende::supervisor::config_detail {
namespace {

constexpr double kMaxSeconds = 31536000;  // a year: keeps every duration representable
constexpr std::string_view kExecExample = "[\"/usr/bin/server\", \"--flag\"]";

// Appends the string at `pointer` to `out`, or reports why it is not a usable string.
void read_string_item(const Json& value, const std::string& pointer, ProblemSink& sink,
                      std::vector<std::string>& out) {
  if (!value.is_string()) {
    sink.add(pointer, type_error("a string", value));
  } else if (value.get_ref<const std::string&>().find('\0') != std::string::npos) {
    sink.add(pointer, "must not contain a NUL character");
  } else {
    out.push_back(value.get<std::string>());
  }
}

void read_exec(const ObjectReader& reader, ChildSpec& child) {
  const Json* exec = reader.find("exec");
  const std::string pointer = reader.pointer("exec");
  ProblemSink& sink = reader.sink();
  if (exec == nullptr) {
    sink.add(pointer, "is required: the program's absolute path and its arguments, like " +
                          std::string(kExecExample));
    return;
  }
  if (!exec->is_array()) {
    sink.add(pointer, type_error("an array of strings like " + std::string(kExecExample), *exec));
    return;
  }
  if (exec->empty()) {
    sink.add(pointer, "must not be empty: exec[0] is the program's absolute path");
    return;
  }
  for (std::size_t i = 0; i < exec->size(); ++i) {
    read_string_item((*exec)[i], child_pointer(pointer, std::to_string(i)), sink, child.exec);
  }
  const Json& program = exec->front();
  if (program.is_string() && !program.get_ref<const std::string&>().starts_with('/')) {
    sink.add(child_pointer(pointer, "0"),
             "exec[0] must be an absolute path, got " + program.dump());
  }
}

void read_environment(const ObjectReader& reader, ChildSpec& child) {
  const Json* environment = reader.find("environment");
  if (environment == nullptr) return;
  ProblemSink& sink = reader.sink();
  if (!environment->is_object()) {
    sink.add(reader.pointer("environment"),
             type_error("an object mapping variable names to strings", *environment));
    return;
  }
  const ObjectReader variables(*environment, reader.pointer("environment"), sink);
  for (const auto& [name, value] : environment->items()) {
    if (name.empty() || name.find_first_of(std::string_view("=\0", 2)) != std::string::npos) {
      sink.add(variables.pointer(name), "invalid variable name " + Json(name).dump() +
                                            ": names must be non-empty and contain no '=' or NUL");
      continue;
    }
    std::string text;
    if (!value.is_string()) {
      sink.add(variables.pointer(name), type_error("a string", value));
    } else if (variables.read_string(name, text)) {
      child.environment.emplace(name, std::move(text));
    }
  }
}

void read_working_directory(const ObjectReader& reader, ChildSpec& child) {
  std::string directory;
  if (!reader.read_string("working_directory", directory)) return;
  if (!directory.starts_with('/')) {
    reader.sink().add(reader.pointer("working_directory"),
                      "must be an absolute path, got " + Json(directory).dump());
    return;
  }
  child.working_directory = directory;
}

void read_limit_memlock(const ObjectReader& reader, ChildSpec& child) {
  const Json* limit = reader.find("limit_memlock");
  if (limit == nullptr) return;
  const std::string pointer = reader.pointer("limit_memlock");
  if (limit->is_number_unsigned()) {
    child.limit_memlock = limit->get<std::uint64_t>();
  } else if (!limit->is_string()) {
    reader.sink().add(pointer,
                      "must be \"infinity\", a non-negative integer of bytes, or a "
                      "size like \"64M\", got " +
                          limit->dump());
  } else if (std::string text = limit->get<std::string>(); text == "infinity") {
    child.limit_memlock = std::nullopt;
  } else if (auto bytes = parse_byte_size(text)) {
    child.limit_memlock = *bytes;
  } else {
    std::string message = "must be \"infinity\" or a size: " + bytes.error();
    if (did_you_mean(text, {"infinity"})) message += "; did you mean \"infinity\"?";
    reader.sink().add(pointer, std::move(message));
  }
}

// Checks one entry of `after` against the other children's names.
void read_after_entry(const Json& value, const std::string& pointer, const ChildNames& names,
                      ProblemSink& sink, ChildSpec& child) {
  std::vector<std::string> entry;
  read_string_item(value, pointer, sink, entry);
  if (entry.empty()) return;
  const std::string& name = entry.front();
  if (name == child.name) {
    sink.add(pointer, "a child cannot start after itself");
  } else if (std::find(names.begin(), names.end(), name) == names.end()) {
    std::string message = "unknown child " + Json(name).dump();
    if (auto close = did_you_mean(name, names)) message += "; did you mean \"" + *close + "\"?";
    sink.add(pointer, std::move(message));
  } else {
    child.after.push_back(name);
  }
}

void read_after(const ObjectReader& reader, const ChildNames& names, ChildSpec& child) {
  const Json* after = reader.find("after");
  if (after == nullptr) return;
  if (!after->is_array()) {
    reader.sink().add(reader.pointer("after"), type_error("an array of child names", *after));
    return;
  }
  for (std::size_t i = 0; i < after->size(); ++i) {
    read_after_entry((*after)[i], child_pointer(reader.pointer("after"), std::to_string(i)), names,
                     reader.sink(), child);
  }
}

void read_stop_signal(const ObjectReader& reader, ChildSpec& child) {
  const Json* signal = reader.find("stop_signal");
  if (signal == nullptr) return;
  std::int64_t number = 0;
  if (signal->is_number_integer()) {
    if (reader.read_integer("stop_signal", number, 1, 64))
      child.stop_signal = static_cast<int>(number);
  } else if (!signal->is_string()) {
    reader.sink().add(reader.pointer("stop_signal"),
                      type_error("a signal name like \"SIGTERM\" or a number", *signal));
  } else if (auto parsed = parse_signal(signal->get<std::string>())) {
    child.stop_signal = *parsed;
  } else {
    reader.sink().add(reader.pointer("stop_signal"), parsed.error());
  }
}

void read_restart_timing(const ObjectReader& reader, ChildSpec& child) {
  reader.read_seconds("restart_sec", child.restart_sec, {0, false, kMaxSeconds});
  reader.read_seconds("restart_max_sec", child.restart_max_sec, {0, false, kMaxSeconds});
  if (child.restart_max_sec >= child.restart_sec) return;
  // Blame whichever of the two the user wrote; restart_max_sec may be the default.
  if (reader.find("restart_max_sec") != nullptr) {
    reader.sink().add(reader.pointer("restart_max_sec"),
                      "must be at least restart_sec (" + format_number(child.restart_sec) +
                          "), got " + format_number(child.restart_max_sec));
  } else {
    reader.sink().add(reader.pointer("restart_sec"),
                      "must be at most restart_max_sec (" + format_number(child.restart_max_sec) +
                          ", the default), got " + format_number(child.restart_sec));
  }
}

void read_supervision(const ObjectReader& reader, ChildSpec& child) {
  std::int64_t number = 0;
  if (reader.read_integer("oom_score_adj", number, -1000, 1000)) {
    child.oom_score_adj = static_cast<int>(number);
  }
  // The choices are listed in the order of the enumerators.
  if (auto ready = reader.read_choice("ready", {"exec", "notify", "locked"})) {
    child.ready = static_cast<Readiness>(*ready);
  }
  reader.read_seconds("start_timeout_sec", child.start_timeout_sec, {0, true, 3600});
  if (auto restart = reader.read_choice("restart", {"always", "on-failure", "no"})) {
    child.restart = static_cast<RestartPolicy>(*restart);
  }
  read_restart_timing(reader, child);
  if (reader.read_integer("start_limit_burst", number, 1, UINT_MAX)) {
    child.start_limit_burst = static_cast<unsigned>(number);
  }
  reader.read_seconds("start_limit_interval_sec", child.start_limit_interval_sec,
                      {0, true, kMaxSeconds});
  read_stop_signal(reader, child);
  reader.read_seconds("stop_timeout_sec", child.stop_timeout_sec, {0, true, kMaxSeconds});
  if (auto on_lock_lost = reader.read_choice("on_lock_lost", {"warn", "restart"})) {
    child.on_lock_lost = static_cast<OnLockLost>(*on_lock_lost);
  }
}

}  // namespace

void read_child(const Json& value, const std::string& pointer, const ChildNames& names,
                ProblemSink& sink, ChildSpec& child) {
  if (!value.is_object()) {
    sink.add(pointer, type_error("an object", value));
    return;
  }
  const ObjectReader reader(value, pointer, sink);
  reader.reject_unknown_keys({"exec",
                              "environment",
                              "working_directory",
                              "user",
                              "group",
                              "preload",
                              "mlock",
                              "limit_memlock",
                              "oom_score_adj",
                              "ready",
                              "after",
                              "start_timeout_sec",
                              "restart",
                              "restart_sec",
                              "restart_max_sec",
                              "start_limit_burst",
                              "start_limit_interval_sec",
                              "stop_signal",
                              "stop_timeout_sec",
                              "on_lock_lost",
                              "swap"});
  read_exec(reader, child);
  read_environment(reader, child);
  read_working_directory(reader, child);
  read_identity(reader, child);
  reader.read_bool("preload", child.preload);
  if (const Json* mlock = reader.find("mlock")) {
    read_mlock_flags(*mlock, reader.pointer("mlock"), sink, child.mlock);
  }
  read_limit_memlock(reader, child);
  read_after(reader, names, child);
  read_supervision(reader, child);
  read_swap(reader, child);
}

}  // namespace duende::supervisor::config_detail
