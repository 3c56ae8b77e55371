#include "notify_message.hpp"

#include <charconv>
#include <cstring>

namespace duende::supervisor {

using duende::mlock::Unexpected;

namespace {

template <class Int>
bool parse_number(std::string_view text, Int& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// Applies one KEY=VALUE to `msg`; the X_DUENDE_MLOCK_* parts land in `lock`.
duende::mlock::Result<void, std::string> apply(std::string_view key, std::string_view value,
                                               NotifyMessage& msg, LockReport& lock,
                                               bool& has_lock) {
  if (key == "READY") {
    msg.ready = value == "1";
  } else if (key == "STOPPING") {
    msg.stopping = value == "1";
  } else if (key == "STATUS") {
    msg.status = std::string(value);
  } else if (key == "X_DUENDE_MLOCK") {
    has_lock = true;
    if (value == "locked")
      lock.state = LockReport::State::Locked;
    else if (value == "failed")
      lock.state = LockReport::State::Failed;
    else if (value == "unsupported")
      lock.state = LockReport::State::Unsupported;
    else
      return Unexpected("X_DUENDE_MLOCK: unknown value \"" + std::string(value.substr(0, 32)) +
                        "\"");
  } else if (key == "X_DUENDE_MLOCK_BYTES") {
    if (!parse_number(value, lock.bytes))
      return Unexpected(std::string("X_DUENDE_MLOCK_BYTES: not a number"));
  } else if (key == "X_DUENDE_MLOCK_ERRNO") {
    if (!parse_number(value, lock.error_number) || lock.error_number < 0)
      return Unexpected(std::string("X_DUENDE_MLOCK_ERRNO: not an errno"));
  }
  return {};
}

}  // namespace

std::string LockReport::to_string() const {
  switch (state) {
    case State::Locked:
      return "locked (" + std::to_string(bytes / 1024) + " KiB)";
    case State::Failed:
      return std::string("failed: ") + std::strerror(error_number);
    case State::Unsupported:
      break;
  }
  return "unsupported";
}

duende::mlock::Result<NotifyMessage, std::string> parse_notify_message(std::string_view text) {
  if (text.size() > kMaxNotifyMessage) return Unexpected(std::string("datagram too large"));
  if (text.find('\0') != std::string_view::npos)
    return Unexpected(std::string("NUL byte in datagram"));
  NotifyMessage msg;
  LockReport lock;
  bool has_lock = false;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty()) continue;
    const auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return Unexpected("line without KEY=: \"" + std::string(line.substr(0, 32)) + "\"");
    if (auto r = apply(line.substr(0, eq), line.substr(eq + 1), msg, lock, has_lock); !r)
      return Unexpected(r.error());
  }
  if (has_lock) msg.lock = lock;
  return msg;
}

}  // namespace duende::supervisor
