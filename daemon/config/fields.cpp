// Typed, problem-reporting access to the members of a JSON object.
#include <algorithm>
#include <iomanip>
#include <limits>
#include <sstream>
#include <string>

#include "config/config_internal.hpp"

namespace duende::supervisor::config_detail {
namespace {

std::string range_message(const NumberRange& range, const Json& got) {
  const std::string lower = range.min_exclusive ? "greater than " : "between ";
  const std::string upper = range.min_exclusive ? " and at most " : " and ";
  return "must be " + lower + format_number(range.min) + upper + format_number(range.max) +
         ", got " + got.dump();
}

std::string quoted_list(const std::vector<std::string_view>& names) {
  std::string list;
  for (std::string_view name : names) {
    if (!list.empty()) list += ", ";
    list += "\"" + std::string(name) + "\"";
  }
  return list;
}

}  // namespace

std::string format_number(double value) {
  std::ostringstream out;
  out << std::setprecision(15) << value;
  return out.str();
}

std::string type_error(std::string_view expected, const Json& got) {
  return "must be " + std::string(expected) + ", got " + got.type_name();
}

void ObjectReader::reject_unknown_keys(const std::vector<std::string_view>& known) const {
  for (const auto& [key, value] : object_.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string message = "unknown key \"" + key + "\"";
    if (auto close = did_you_mean(key, known)) message += "; did you mean \"" + *close + "\"?";
    sink_.add(pointer(key), std::move(message));
  }
}

const Json* ObjectReader::find(std::string_view key) const {
  auto it = object_.find(key);
  return it == object_.end() ? nullptr : &*it;
}

bool ObjectReader::read_bool(std::string_view key, bool& out) const {
  const Json* value = find(key);
  if (value == nullptr) return false;
  if (!value->is_boolean()) {
    sink_.add(pointer(key), type_error("a boolean", *value));
    return false;
  }
  out = value->get<bool>();
  return true;
}

bool ObjectReader::read_seconds(std::string_view key, double& out, const NumberRange& range) const {
  const Json* value = find(key);
  if (value == nullptr) return false;
  if (!value->is_number()) {
    sink_.add(pointer(key), type_error("a number of seconds", *value));
    return false;
  }
  const double number = value->get<double>();
  const bool above_min = range.min_exclusive ? number > range.min : number >= range.min;
  if (!above_min || number > range.max) {
    sink_.add(pointer(key), range_message(range, *value));
    return false;
  }
  out = number;
  return true;
}

bool ObjectReader::read_integer(std::string_view key, std::int64_t& out, std::int64_t min,
                                std::int64_t max) const {
  const Json* value = find(key);
  if (value == nullptr) return false;
  if (!value->is_number_integer()) {
    sink_.add(pointer(key), type_error("an integer", *value));
    return false;
  }
  const bool too_big = value->is_number_unsigned() &&
                       value->get<std::uint64_t>() >
                           static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  const std::int64_t number = too_big ? max : value->get<std::int64_t>();
  if (too_big || number < min || number > max) {
    sink_.add(pointer(key), "must be between " + std::to_string(min) + " and " +
                                std::to_string(max) + ", got " + value->dump());
    return false;
  }
  out = number;
  return true;
}

bool ObjectReader::read_string(std::string_view key, std::string& out) const {
  const Json* value = find(key);
  if (value == nullptr) return false;
  if (!value->is_string()) {
    sink_.add(pointer(key), type_error("a string", *value));
    return false;
  }
  const auto& text = value->get_ref<const std::string&>();
  if (text.find('\0') != std::string::npos) {
    sink_.add(pointer(key), "must not contain a NUL character");
    return false;
  }
  out = text;
  return true;
}

std::optional<std::size_t> ObjectReader::read_choice(
    std::string_view key, const std::vector<std::string_view>& names) const {
  std::string text;
  if (!read_string(key, text)) return std::nullopt;
  auto it = std::find(names.begin(), names.end(), text);
  if (it != names.end()) return static_cast<std::size_t>(it - names.begin());
  std::string message = "must be one of " + quoted_list(names) + ", got \"" + text + "\"";
  if (auto close = did_you_mean(text, names)) message += "; did you mean \"" + *close + "\"?";
  sink_.add(pointer(key), std::move(message));
  return std::nullopt;
}

void read_mlock_flags(const Json& value, const std::string& pointer, ProblemSink& sink,
                      mlock::MlockConfig& flags) {
  if (!value.is_object()) {
    sink.add(pointer, type_error("an object", value));
    return;
  }
  const ObjectReader reader(value, pointer, sink);
  reader.reject_unknown_keys({"current", "future", "onfault", "required", "io_flusher",
                              "retain_heap", "relock_after_fork"});
  bool current = flags.current(), future = flags.future(), onfault = flags.onfault(),
       required = flags.required(), io_flusher = flags.io_flusher(),
       retain_heap = flags.retain_heap(), relock = flags.relock_after_fork();
  reader.read_bool("current", current);
  reader.read_bool("future", future);
  reader.read_bool("onfault", onfault);
  reader.read_bool("required", required);
  reader.read_bool("io_flusher", io_flusher);
  reader.read_bool("retain_heap", retain_heap);
  reader.read_bool("relock_after_fork", relock);
  if (onfault && !current && !future) {
    sink.add(reader.pointer("onfault"),
             "needs \"current\" or \"future\": mlockall() rejects MCL_ONFAULT alone");
  }
  flags = mlock::MlockConfig::builder()
              .current(current)
              .future(future)
              .onfault(onfault)
              .required(required)
              .io_flusher(io_flusher)
              .retain_heap(retain_heap)
              .relock_after_fork(relock)
              .build();
}

}  // namespace duende::supervisor::config_detail
