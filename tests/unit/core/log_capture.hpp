// Captures the core's log lines (os/log.hpp) for as long as it lives, so tests can assert
// on what an operator would read and stderr stays quiet.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "os/log.hpp"

namespace duende::supervisor::test {

class LogCapture {
 public:
  struct Line {
    LogLevel level;
    std::string text;
  };

  LogCapture() { set_log_sink(&LogCapture::sink, this); }
  ~LogCapture() { set_log_sink(nullptr, nullptr); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  const std::vector<Line>& lines() const { return lines_; }
  // The lines that contain `part`, in order.
  std::vector<std::string> containing(std::string_view part) const {
    std::vector<std::string> out;
    for (const auto& line : lines_)
      if (line.text.find(part) != std::string::npos) out.push_back(line.text);
    return out;
  }

 private:
  static void sink(LogLevel level, std::string_view message, void* context) {
    static_cast<LogCapture*>(context)->lines_.push_back(Line{level, std::string(message)});
  }
  std::vector<Line> lines_;
};

}  // namespace duende::supervisor::test
