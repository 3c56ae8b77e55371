// The sd_notify protocol as children speak it to the supervisor: newline-separated
// KEY=VALUE assignments in one datagram. Pure parsing, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "duende/result.hpp"

namespace duende::supervisor {

// What a child said about its own lock (libduende-mlock's report).
struct LockReport {
  enum class State { Locked, Failed, Unsupported };
  State state = State::Locked;
  std::uint64_t bytes = 0;  // X_DUENDE_MLOCK_BYTES
  int error_number = 0;     // X_DUENDE_MLOCK_ERRNO

  // "locked (5696 KiB)", "failed: Operation not permitted", "unsupported".
  std::string to_string() const;
  bool operator==(const LockReport&) const = default;
};

// The parts of one datagram the supervisor acts on; other keys are ignored, as systemd
// ignores keys it does not know.
struct NotifyMessage {
  bool ready = false;                 // READY=1
  bool stopping = false;              // STOPPING=1
  std::optional<std::string> status;  // STATUS=...
  std::optional<LockReport> lock;     // X_DUENDE_MLOCK=... (+ _BYTES, _ERRNO)
  bool operator==(const NotifyMessage&) const = default;
};

// The largest datagram accepted; systemd uses the same bound for its notify socket.
inline constexpr std::size_t kMaxNotifyMessage = 4096;

// Parses one datagram. Errors (the datagram is then ignored as a whole): NUL bytes, a line
// without '=', an X_DUENDE_MLOCK value other than locked|failed|unsupported, or a
// non-numeric / out-of-range _BYTES or _ERRNO.
duende::mlock::Result<NotifyMessage, std::string> parse_notify_message(std::string_view text);

}  // namespace duende::supervisor
