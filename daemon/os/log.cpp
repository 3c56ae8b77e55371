#include "os/log.hpp"

#include <unistd.h>

namespace duende::supervisor {

namespace {
LogSink g_sink = nullptr;
void* g_sink_context = nullptr;
}  // namespace

void set_log_sink(LogSink sink, void* context) noexcept {
  g_sink = sink;
  g_sink_context = context;
}

void log(LogLevel level, std::string_view message) noexcept {
  if (g_sink) {
    g_sink(level, message, g_sink_context);
    return;
  }
  char buf[4096];
  std::size_t n = 0;
  buf[n++] = '<';
  buf[n++] = static_cast<char>('0' + static_cast<int>(level));
  buf[n++] = '>';
  for (char c : message) {
    if (n >= sizeof buf - 1) break;
    buf[n++] = (c == '\n' || c == '\r') ? ' ' : c;
  }
  buf[n++] = '\n';
  (void)!::write(STDERR_FILENO, buf, n);
}

bool RateLimit::allow(std::chrono::steady_clock::time_point now, unsigned& suppressed) {
  if (now - window_start_ >= interval_) {
    window_start_ = now;
    in_window_ = 0;
  }
  if (in_window_ >= burst_) {
    ++suppressed_;
    return false;
  }
  ++in_window_;
  suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

}  // namespace duende::supervisor
