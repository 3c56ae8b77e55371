// Fuzzes the notify datagram parser, parse_notify_message(), and through it the library's
// parse_lock_report(). Input: one datagram.
//
// Invariants beyond "no crash, no exception":
//  - a datagram with a NUL byte or over kMaxNotifyMessage bytes is refused;
//  - the lock report in an accepted message is what parse_lock_report() reads alone;
//  - an accepted message survives a round trip: its parts written back as a datagram
//    (READY=1, STOPPING=1, STATUS=..., format_lock_report()) parse to the same message;
//  - the texts shown for it (lock_report_text(), MlockStatus::to_string()) can be built.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/notify_message.hpp"
#include "fuzz_check.hpp"

namespace {

using duende::supervisor::kMaxNotifyMessage;
using duende::supervisor::NotifyMessage;
using duende::supervisor::parse_notify_message;

std::string to_datagram(const NotifyMessage& message) {
  std::string text;
  if (message.ready) text += "READY=1\n";
  if (message.stopping) text += "STOPPING=1\n";
  if (message.status) text += "STATUS=" + *message.status + "\n";
  if (message.lock) text += duende::mlock::format_lock_report(*message.lock);
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  duende::fuzz::run_without_exceptions([&] {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto message = parse_notify_message(text);
    if (!message) {
      DUENDE_FUZZ_CHECK(!message.error().empty());
      return;
    }
    DUENDE_FUZZ_CHECK(text.size() <= kMaxNotifyMessage);
    DUENDE_FUZZ_CHECK(text.find('\0') == std::string_view::npos);
    const auto lock = duende::mlock::parse_lock_report(text);
    DUENDE_FUZZ_CHECK(lock.has_value() && *lock == message->lock);
    if (message->lock) {
      DUENDE_FUZZ_CHECK(!duende::supervisor::lock_report_text(*message->lock).empty());
      DUENDE_FUZZ_CHECK(!message->lock->to_string().empty());
    }
    const std::string datagram = to_datagram(*message);
    // The rewritten lock report can be longer than the original's lines.
    if (datagram.size() > kMaxNotifyMessage) return;
    const auto again = parse_notify_message(datagram);
    DUENDE_FUZZ_CHECK(again.has_value() && *again == *message);
  });
  return 0;
}
