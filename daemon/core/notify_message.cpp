#include "core/notify_message.hpp"

#include <cstring>

#include "api/swap_fields.hpp"

namespace duende::supervisor {

using duende::mlock::Unexpected;

std::string lock_report_text(const mlock::MlockStatus& status) {
  if (status.is_locked())
    return "locked (" + std::to_string(status.bytes_locked() / 1024) + " KiB)";
  if (status.is_failed()) return std::string("failed: ") + std::strerror(status.failure_errno());
  return "unsupported";
}

duende::mlock::Result<NotifyMessage, std::string> parse_notify_message(std::string_view text) {
  if (text.size() > kMaxNotifyMessage) return Unexpected(std::string("datagram too large"));
  if (text.find('\0') != std::string_view::npos)
    return Unexpected(std::string("NUL byte in datagram"));
  NotifyMessage msg;
  for (std::string_view rest = text; !rest.empty();) {
    const auto nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.empty()) continue;
    const auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return Unexpected("line without KEY=: \"" + std::string(line.substr(0, 32)) + "\"");
    const std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "READY")
      msg.ready = value == "1";
    else if (key == "STOPPING")
      msg.stopping = value == "1";
    else if (key == "STATUS")
      msg.status = std::string(value);
    else if (key == kSwapDeviceField)
      msg.swap_device = std::string(value);
  }
  auto lock = mlock::parse_lock_report(text);
  if (!lock) return Unexpected(lock.error());
  msg.lock = *lock;
  return msg;
}

}  // namespace duende::supervisor
