// The lock report: one sd_notify-format datagram to $NOTIFY_SOCKET, and its parser.
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>

#include "duende/mlock.hpp"

namespace duende::mlock {

namespace {

constexpr std::string_view kKeyState = "X_DUENDE_MLOCK";
constexpr std::string_view kKeyBytes = "X_DUENDE_MLOCK_BYTES";
constexpr std::string_view kKeyErrno = "X_DUENDE_MLOCK_ERRNO";

// The whole of `text` as a decimal: from_chars alone accepts a prefix and a leading '-'.
template <class Int>
bool parse_decimal(std::string_view text, Int& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string format_lock_report(const MlockStatus& status) {
  const char* state = status.is_locked() ? "locked" : status.is_failed() ? "failed" : "unsupported";
  return std::string(kKeyState) + "=" + state + "\n" + std::string(kKeyBytes) + "=" +
         std::to_string(status.bytes_locked()) + "\n" + std::string(kKeyErrno) + "=" +
         std::to_string(status.failure_errno()) + "\n";
}

Result<std::optional<MlockStatus>, std::string> parse_lock_report(std::string_view datagram) {
  std::optional<MlockStatus::Kind> kind;
  std::uint64_t bytes = 0;
  int error_number = 0;
  while (!datagram.empty()) {
    const auto nl = datagram.find('\n');
    const std::string_view line = datagram.substr(0, nl);
    datagram = nl == std::string_view::npos ? std::string_view() : datagram.substr(nl + 1);
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, eq);
    const std::string_view value = line.substr(eq + 1);
    if (key == kKeyState) {
      if (value == "locked")
        kind = MlockStatus::Kind::Locked;
      else if (value == "failed")
        kind = MlockStatus::Kind::Failed;
      else if (value == "unsupported")
        kind = MlockStatus::Kind::Unsupported;
      else
        return Unexpected(std::string(kKeyState) + ": unknown value \"" +
                          std::string(value.substr(0, 32)) + "\"");
    } else if (key == kKeyBytes) {
      if (!parse_decimal(value, bytes))
        return Unexpected(std::string(kKeyBytes) + ": not a number");
    } else if (key == kKeyErrno) {
      if (!parse_decimal(value, error_number) || error_number < 0)
        return Unexpected(std::string(kKeyErrno) + ": not an errno");
    }
  }
  if (!kind) return std::optional<MlockStatus>();
  switch (*kind) {
    case MlockStatus::Kind::Locked:
      return std::optional(MlockStatus::locked(bytes));
    case MlockStatus::Kind::Failed:
      return std::optional(MlockStatus::failed(error_number));
    case MlockStatus::Kind::Unsupported:
      break;
  }
  return std::optional(MlockStatus::unsupported());
}

int send_lock_report(const MlockStatus& status) noexcept {
  const char* report = std::getenv(kEnvReport);
  if (!report || std::strcmp(report, "1") != 0) return 0;
  try {
    return notify_send(format_lock_report(status), kLockReportTimeoutMs);
  } catch (...) {
    return ENOMEM;
  }
}

}  // namespace duende::mlock
