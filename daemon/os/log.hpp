// Logging to stderr with sd-daemon priority prefixes ("<3>" …), which journald turns into
// priorities when the supervisor runs under systemd. One line per call.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace duende::supervisor {

enum class LogLevel { Error = 3, Warning = 4, Notice = 5, Info = 6, Debug = 7 };

// Writes "<N>message\n" to stderr in one write(2). Newlines inside `message` are replaced
// so one call is one journal entry. Never throws.
void log(LogLevel level, std::string_view message) noexcept;

inline void log_error(std::string_view m) noexcept { log(LogLevel::Error, m); }
inline void log_warning(std::string_view m) noexcept { log(LogLevel::Warning, m); }
inline void log_notice(std::string_view m) noexcept { log(LogLevel::Notice, m); }
inline void log_info(std::string_view m) noexcept { log(LogLevel::Info, m); }

// Where log() writes instead of stderr, for tests that drive the core in-process: called
// with the level and the message (before the newline replacement). nullptr restores
// stderr. Not thread-safe; set it before anything logs.
using LogSink = void (*)(LogLevel level, std::string_view message, void* context);
void set_log_sink(LogSink sink, void* context) noexcept;

// Lets through at most `burst` events per `interval`, then counts the suppressed ones:
// for log lines an outsider can provoke (datagrams on the notify socket).
class RateLimit {
 public:
  RateLimit(std::chrono::steady_clock::duration interval, unsigned burst)
      : interval_(interval), burst_(burst) {}

  // True when this event may be logged; `suppressed` then holds how many were dropped
  // since the last one that was let through.
  bool allow(std::chrono::steady_clock::time_point now, unsigned& suppressed);

 private:
  std::chrono::steady_clock::duration interval_;
  unsigned burst_;
  std::chrono::steady_clock::time_point window_start_{};
  unsigned in_window_ = 0;
  unsigned suppressed_ = 0;
};

}  // namespace duende::supervisor
