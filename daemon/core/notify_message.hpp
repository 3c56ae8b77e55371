// The sd_notify protocol as children speak it to the supervisor: newline-separated
// KEY=VALUE assignments in one datagram. Pure parsing, no I/O. The lock report inside
// (X_DUENDE_MLOCK…) is the library's protocol: mlock::parse_lock_report() reads it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "duende/mlock.hpp"
#include "os/notify_socket.hpp"

namespace duende::supervisor {

// The parts of one datagram the supervisor acts on; other keys are ignored, as systemd
// ignores keys it does not know.
struct NotifyMessage {
  bool ready = false;                      // READY=1
  bool stopping = false;                   // STOPPING=1
  std::optional<std::string> status;       // STATUS=...
  std::optional<mlock::MlockStatus> lock;  // X_DUENDE_MLOCK=... (+ _BYTES, _ERRNO)
  std::optional<std::string> swap_device;  // X_DUENDE_SWAP_DEVICE=PATH (api/swap_fields.hpp)
  bool operator==(const NotifyMessage&) const = default;
};

// The largest datagram accepted; systemd uses the same bound for its notify socket.
inline constexpr std::size_t kMaxNotifyMessage = kMaxDatagram;

// Parses one datagram. Errors (the datagram is then ignored as a whole): NUL bytes, a line
// without '=', and whatever mlock::parse_lock_report() rejects (an X_DUENDE_MLOCK value
// other than locked|failed|unsupported, a non-numeric / out-of-range _BYTES or _ERRNO).
duende::mlock::Result<NotifyMessage, std::string> parse_notify_message(std::string_view text);

// A child's lock report as the supervisor shows it (D-Bus LockReport, the log):
// "locked (5696 KiB)", "failed: Operation not permitted", "unsupported".
std::string lock_report_text(const mlock::MlockStatus& status);

}  // namespace duende::supervisor
