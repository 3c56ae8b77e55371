// Fuzzes the /proc/PID/limits parser, parse_memlock_limit(). Input: the text of one file.
//
// Invariants beyond "no crash, no exception":
//  - the parse survives a round trip: the limits written back in the kernel's format
//    parse to the same values;
//  - a second "Max locked memory" line is always an error (a limit must not be ambiguous);
//  - line endings do not matter: the text with "\r\n" for every "\n" gives the same
//    result, value or error message.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "proc_limits.hpp"

namespace {

using duende::mlock::internal::MemlockLimit;
using duende::mlock::internal::parse_memlock_limit;

std::string limit_text(const std::optional<std::uint64_t>& bytes) {
  return bytes ? std::to_string(*bytes) : std::string("unlimited");
}

std::string with_crlf(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  duende::fuzz::run_without_exceptions([&] {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const auto limit = parse_memlock_limit(text);
    const auto crlf = parse_memlock_limit(with_crlf(text));
    DUENDE_FUZZ_CHECK(limit.has_value() == crlf.has_value());
    if (!limit) {
      DUENDE_FUZZ_CHECK(!limit.error().empty() && limit.error() == crlf.error());
      return;
    }
    DUENDE_FUZZ_CHECK(crlf->soft == limit->soft && crlf->hard == limit->hard);
    const std::string line = "Max locked memory         " + limit_text(limit->soft) + "  " +
                             limit_text(limit->hard) + "  bytes     \n";
    const auto again = parse_memlock_limit(line);
    DUENDE_FUZZ_CHECK(again.has_value() && again->soft == limit->soft &&
                      again->hard == limit->hard);
    DUENDE_FUZZ_CHECK(!parse_memlock_limit(text + "\n" + line).has_value());
  });
  return 0;
}
