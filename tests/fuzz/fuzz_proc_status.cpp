// Fuzzes the /proc/PID/status parser, parse_proc_status(). Input: the text of one file.
//
// Invariants beyond "no crash, no exception":
//  - every Vm* figure is a whole number of KiB (the kernel reports kB);
//  - the parse survives a round trip: the fields written back in the kernel's format
//    parse to the same ProcStatus;
//  - line endings do not matter: the text with "\r\n" for every "\n" gives the same
//    result, value or error message (values are trimmed of a trailing '\r').
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "proc_status.hpp"

namespace {

using duende::mlock::internal::ProcStatus;

void write_kb(std::string& text, std::string_view key, const std::optional<std::uint64_t>& bytes) {
  if (bytes) text += std::string(key) + ":\t" + std::to_string(*bytes / 1024) + " kB\n";
}

// The fields in the kernel's format ("State:\tS (sleeping)", "VmLck:\t   0 kB").
std::string to_status_text(const ProcStatus& status) {
  std::string text;
  if (status.state != '?') text += std::string("State:\t") + status.state + " (fuzzed)\n";
  if (status.threads) text += "Threads:\t" + std::to_string(*status.threads) + "\n";
  if (status.kernel_thread) text += "Kthread:\t1\n";
  write_kb(text, "VmLck", status.vm_lck);
  write_kb(text, "VmPin", status.vm_pin);
  write_kb(text, "VmRSS", status.vm_rss);
  write_kb(text, "VmSwap", status.vm_swap);
  return text;
}

std::string with_crlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 2);
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

bool same_status(const ProcStatus& a, const ProcStatus& b) {
  return a.state == b.state && a.vm_lck == b.vm_lck && a.vm_rss == b.vm_rss &&
         a.vm_swap == b.vm_swap && a.vm_pin == b.vm_pin && a.threads == b.threads &&
         a.kernel_thread == b.kernel_thread;
}

bool whole_kib(const std::optional<std::uint64_t>& bytes) { return !bytes || *bytes % 1024 == 0; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  duende::fuzz::run_without_exceptions([&] {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto parsed = duende::mlock::internal::parse_proc_status(text);
    const auto crlf = duende::mlock::internal::parse_proc_status(with_crlf(text));
    DUENDE_FUZZ_CHECK(parsed.has_value() == crlf.has_value());
    if (!parsed) {
      DUENDE_FUZZ_CHECK(!parsed.error().empty());
      DUENDE_FUZZ_CHECK(parsed.error() == crlf.error());
      return;
    }
    const ProcStatus& status = *parsed;
    DUENDE_FUZZ_CHECK(same_status(*crlf, status));
    DUENDE_FUZZ_CHECK(whole_kib(status.vm_lck) && whole_kib(status.vm_rss) &&
                      whole_kib(status.vm_swap) && whole_kib(status.vm_pin));
    DUENDE_FUZZ_CHECK(!status.threads || *status.threads >= 0);
    const auto again = duende::mlock::internal::parse_proc_status(to_status_text(status));
    DUENDE_FUZZ_CHECK(again.has_value() && same_status(*again, status));
  });
  return 0;
}
