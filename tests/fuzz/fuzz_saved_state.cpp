// Fuzzes the state-directory parsers, parse_saved_child() and parse_saved_supervisor(): a
// supervisor reads these at every start, and a state file that is garbage (a full disk, a
// hand edit, another version) must be refused as a value, never crash or throw.
// Input: one file's text.
//
// Invariants beyond "no crash, no exception":
//  - a refusal says why;
//  - an accepted record survives a round trip: written back with to_json() it parses
//    again, to a record written the same way.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/saved_state.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  duende::fuzz::run_without_exceptions([&] {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto child = duende::supervisor::parse_saved_child(text);
    if (child) {
      // Invalid UTF-8 is replaced on the way out: the written form is what must be stable.
      const auto again = duende::supervisor::parse_saved_child(to_json(*child));
      DUENDE_FUZZ_CHECK(again.has_value() && to_json(*again) == to_json(*child));
    } else {
      DUENDE_FUZZ_CHECK(!child.error().empty());
    }
    const auto supervisor = duende::supervisor::parse_saved_supervisor(text);
    if (supervisor) {
      const auto again = duende::supervisor::parse_saved_supervisor(to_json(*supervisor));
      DUENDE_FUZZ_CHECK(again.has_value() && to_json(*again) == to_json(*supervisor));
    } else {
      DUENDE_FUZZ_CHECK(!supervisor.error().empty());
    }
  });
  return 0;
}
