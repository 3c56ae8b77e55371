// Pure parsers for setting values (signals, byte sizes) and typo suggestions.
#include <signal.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <limits>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace duende::supervisor {
namespace {

using duende::mlock::Unexpected;

struct SignalEntry {
  std::string_view name;  // without "SIG"
  int signo;
};

// Canonical names first: signal_name() takes the first entry with a number.
constexpr std::array kSignals = {
    SignalEntry{"HUP", SIGHUP},       SignalEntry{"INT", SIGINT},   SignalEntry{"QUIT", SIGQUIT},
    SignalEntry{"ILL", SIGILL},       SignalEntry{"TRAP", SIGTRAP}, SignalEntry{"ABRT", SIGABRT},
    SignalEntry{"BUS", SIGBUS},       SignalEntry{"FPE", SIGFPE},   SignalEntry{"KILL", SIGKILL},
    SignalEntry{"USR1", SIGUSR1},     SignalEntry{"SEGV", SIGSEGV}, SignalEntry{"USR2", SIGUSR2},
    SignalEntry{"PIPE", SIGPIPE},     SignalEntry{"ALRM", SIGALRM}, SignalEntry{"TERM", SIGTERM},
#ifdef SIGSTKFLT
    SignalEntry{"STKFLT", SIGSTKFLT},
#endif
    SignalEntry{"CHLD", SIGCHLD},     SignalEntry{"CONT", SIGCONT}, SignalEntry{"STOP", SIGSTOP},
    SignalEntry{"TSTP", SIGTSTP},     SignalEntry{"TTIN", SIGTTIN}, SignalEntry{"TTOU", SIGTTOU},
    SignalEntry{"URG", SIGURG},       SignalEntry{"XCPU", SIGXCPU}, SignalEntry{"XFSZ", SIGXFSZ},
    SignalEntry{"VTALRM", SIGVTALRM}, SignalEntry{"PROF", SIGPROF}, SignalEntry{"WINCH", SIGWINCH},
    SignalEntry{"IO", SIGIO},         SignalEntry{"PWR", SIGPWR},   SignalEntry{"SYS", SIGSYS},
    SignalEntry{"IOT", SIGABRT},      SignalEntry{"POLL", SIGIO},   SignalEntry{"CLD", SIGCHLD},
};

constexpr int kMaxSignal = 64;

// Parses all of `text` as a decimal number; nullopt on anything else or overflow.
std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// "RTMIN+N", "RTMAX-N", "RTMIN", "RTMAX" (already upper case, without "SIG").
std::optional<int> parse_realtime(std::string_view name) {
  const bool from_min = name.starts_with("RTMIN");
  if (!from_min && !name.starts_with("RTMAX")) return std::nullopt;
  std::string_view rest = name.substr(5);
  std::uint64_t offset = 0;
  if (!rest.empty()) {
    if (rest.front() != (from_min ? '+' : '-')) return std::nullopt;
    auto parsed = parse_decimal(rest.substr(1));
    if (!parsed) return std::nullopt;
    offset = *parsed;
  }
  if (offset > static_cast<std::uint64_t>(SIGRTMAX - SIGRTMIN)) return -1;  // out of range
  return from_min ? SIGRTMIN + static_cast<int>(offset) : SIGRTMAX - static_cast<int>(offset);
}

std::string upper(std::string_view text) {
  std::string result(text);
  for (char& c : result) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return result;
}

std::string unknown_signal(std::string_view text, std::string_view name) {
  std::vector<std::string_view> names;
  for (const auto& entry : kSignals) names.push_back(entry.name);
  std::string message = "unknown signal \"" + std::string(text) + "\"";
  if (auto close = did_you_mean(name, names)) message += "; did you mean \"SIG" + *close + "\"?";
  return message;
}

}  // namespace

duende::mlock::Result<int, std::string> parse_signal(std::string_view text) {
  if (auto number = parse_decimal(text)) {
    if (*number < 1 || *number > kMaxSignal) {
      return Unexpected("signal number must be between 1 and 64, got " + std::string(text));
    }
    return static_cast<int>(*number);
  }
  std::string name = upper(text);
  if (name.starts_with("SIG")) name.erase(0, 3);
  for (const auto& entry : kSignals) {
    if (entry.name == name) return entry.signo;
  }
  if (auto realtime = parse_realtime(name)) {
    if (*realtime < 0) {
      return Unexpected("\"" + std::string(text) + "\" is beyond the real-time signals (" +
                        signal_name(SIGRTMIN) + ".." + signal_name(SIGRTMAX) + ")");
    }
    return *realtime;
  }
  return Unexpected(unknown_signal(text, name));
}

std::string signal_name(int signo) {
  for (const auto& entry : kSignals) {
    if (entry.signo == signo) return "SIG" + std::string(entry.name);
  }
  if (signo == SIGRTMIN) return "SIGRTMIN";
  if (signo > SIGRTMIN && signo <= SIGRTMAX) return "SIGRTMIN+" + std::to_string(signo - SIGRTMIN);
  return std::to_string(signo);
}

duende::mlock::Result<std::uint64_t, std::string> parse_byte_size(std::string_view text) {
  if (text.empty()) return Unexpected(std::string("empty size"));
  static constexpr std::string_view kSuffixes = "KMGT";
  std::string_view digits = text;
  unsigned shift = 0;
  const auto suffix = kSuffixes.find(static_cast<char>(std::toupper(text.back())));
  if (suffix != std::string_view::npos) {
    digits.remove_suffix(1);
    shift = 10 * static_cast<unsigned>(suffix + 1);
  }
  auto value = parse_decimal(digits);
  if (!value && !digits.empty() &&
      std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Unexpected("\"" + std::string(text) + "\" does not fit in 64 bits");
  }
  if (!value) {
    return Unexpected("\"" + std::string(text) +
                      "\" is not a size (expected digits with an optional K, M, G or T "
                      "suffix, like \"64M\")");
  }
  if (*value > (std::numeric_limits<std::uint64_t>::max() >> shift)) {
    return Unexpected("\"" + std::string(text) + "\" does not fit in 64 bits");
  }
  return *value << shift;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Rows i-2, i-1 and i of the table; the transposition case needs row i-2.
  std::vector<std::size_t> before(b.size() + 1);
  std::vector<std::size_t> previous(b.size() + 1);
  std::vector<std::size_t> current(b.size() + 1);
  std::iota(previous.begin(), previous.end(), 0);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        current[j] = std::min(current[j], before[j - 2] + 1);
      }
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::optional<std::string> did_you_mean(std::string_view word,
                                        const std::vector<std::string_view>& candidates) {
  // At most two edits, and at most half the longer string: "FOO" is no typo of "FPE", but
  // "lock" is one of "locked".
  constexpr std::size_t kMaxDistance = 2;
  std::optional<std::string_view> best;
  std::size_t best_distance = kMaxDistance + 1;
  for (std::string_view candidate : candidates) {
    const std::size_t distance = edit_distance(word, candidate);
    if (distance == 0) return std::nullopt;
    if (distance < best_distance && 2 * distance <= std::max(word.size(), candidate.size())) {
      best = candidate;
      best_distance = distance;
    }
  }
  if (!best) return std::nullopt;
  return std::string(*best);
}

}  // namespace duende::supervisor
