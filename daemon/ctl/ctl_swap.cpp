#include "ctl/ctl_swap.hpp"

#include "api/human_size.hpp"
#include "api/swap_fields.hpp"
#include "api/text_escape.hpp"

namespace duende::supervisor {
namespace {

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void sample(std::string& out, const char* name, const std::string& labels, std::uint64_t value) {
  out += std::string(name) + "{" + labels + "} " + std::to_string(value) + "\n";
}

std::string label(const std::string& value) {
  std::string out;
  for (const char ch : value) {
    if (ch == '\\' || ch == '"')
      out += std::string("\\") + ch;
    else if (ch == '\n')
      out += "\\n";
    else
      out += ch;
  }
  return out;
}

constexpr SwapState kStates[] = {SwapState::Off, SwapState::Activating, SwapState::On,
                                 SwapState::Deactivating, SwapState::Failed};

}  // namespace

bool has_swap(const CtlChild& c) {
  return !c.swap_device.empty() || (!c.swap_state.empty() && c.swap_state != "off");
}

std::string swap_line(const CtlChild& c) {
  if (!has_swap(c)) return "";
  const std::string device = c.swap_device.empty() ? "(device not named yet)" : c.swap_device;
  std::string out = c.name + ": swap " + escape_control(device) + " " + c.swap_state;
  if (c.swap_state == to_string(SwapState::Failed)) out += ": " + escape_control(c.swap_error);
  if (c.swap_size_bytes > 0)
    out += ", " + human_size(c.swap_used_bytes) + " used of " + human_size(c.swap_size_bytes);
  return out + "\n";
}

void swap_metrics(std::string& out, const CtlSnapshot& s) {
  // One gauge per child that backs swap, labelled with its device.
  const auto per_swap = [&](const char* name, const char* help, std::uint64_t CtlChild::*field) {
    family(out, name, "gauge", help);
    for (const auto& c : s.children)
      if (has_swap(c))
        sample(out, name, "child=\"" + label(c.name) + "\",device=\"" + label(c.swap_device) + "\"",
               c.*field);
  };
  per_swap("mlock_supervisor_child_swap_size_bytes",
           "Size of the swap the child backs, while it is on (/proc/swaps).",
           &CtlChild::swap_size_bytes);
  per_swap("mlock_supervisor_child_swap_used_bytes",
           "Pages in the swap the child backs (/proc/swaps Used).", &CtlChild::swap_used_bytes);
  family(out, "mlock_supervisor_child_swap_state", "gauge",
         "The state of the swap the child backs (1 for the current one).");
  for (const auto& c : s.children)
    if (has_swap(c))
      for (const SwapState st : kStates)
        sample(out, "mlock_supervisor_child_swap_state",
               "child=\"" + label(c.name) + "\",state=\"" + to_string(st) + "\"",
               c.swap_state == to_string(st) ? 1 : 0);
}

}  // namespace duende::supervisor
