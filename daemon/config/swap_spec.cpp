// A child's "swap" object: the swap device it backs.
#include <map>
#include <string>

#include "config/config_internal.hpp"

namespace duende::supervisor::config_detail {
namespace {

constexpr std::size_t kMaxDevicePath = 4096;  // PATH_MAX

void read_device(const ObjectReader& reader, SwapSpec& swap) {
  if (!reader.read_string("device", swap.device)) return;
  const std::string& d = swap.device;
  if (d.empty() || d.front() != '/' || d.size() > kMaxDevicePath ||
      d.find('\0') != std::string::npos)
    reader.sink().add(reader.pointer("device"),
                      "must be the absolute path of the swap device (at most 4096 bytes), got \"" +
                          d.substr(0, 64) + "\"");
}

}  // namespace

void read_swap(const ObjectReader& child_reader, ChildSpec& child) {
  const Json* value = child_reader.find("swap");
  if (value == nullptr) return;
  ProblemSink& sink = child_reader.sink();
  const std::string pointer = child_reader.pointer("swap");
  if (!value->is_object()) {
    sink.add(pointer, type_error("an object such as {\"device\": \"/dev/loop7\"}", *value));
    return;
  }
  const ObjectReader reader(*value, pointer, sink);
  reader.reject_unknown_keys({"device", "priority", "mkswap"});
  SwapSpec swap;
  read_device(reader, swap);
  std::int64_t priority = 0;
  if (reader.read_integer("priority", priority, -1, 32767))
    swap.priority = static_cast<int>(priority);
  reader.read_bool("mkswap", swap.mkswap);
  // A backend that may be swapped out deadlocks the swap it serves: the very thing this
  // supervisor exists to prevent.
  if (!child.mlock.must_be_locked())
    sink.add(pointer,
             "a child that backs swap must be locked: its mlock needs \"current\" or "
             "\"future\", and \"required\"");
  child.swap = std::move(swap);
}

void check_swap_devices(const Config& config, const std::string& children_pointer,
                        ProblemSink& sink) {
  std::map<std::string, std::string> owner;  // device -> child
  for (const auto& [name, child] : config.children) {
    if (!child.swap || child.swap->device.empty()) continue;
    const auto [it, fresh] = owner.emplace(child.swap->device, name);
    if (!fresh)
      sink.add(
          child_pointer(child_pointer(children_pointer, name), "swap") + "/device",
          "\"" + child.swap->device + "\" is already the swap of child \"" + it->second + "\"");
  }
}

}  // namespace duende::supervisor::config_detail
