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

namespace {

// Invalid UTF-8 is replaced on the way out: the written form is what must be stable.
template <class Parse>
void check_round_trip(std::string_view text, Parse parse) {
  const auto record = parse(text);
  if (!record) {
    DUENDE_FUZZ_CHECK(!record.error().empty());
    return;
  }
  const auto again = parse(to_json(*record));
  DUENDE_FUZZ_CHECK(again.has_value() && to_json(*again) == to_json(*record));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  duende::fuzz::run_without_exceptions([&] {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    check_round_trip(text, duende::supervisor::parse_saved_child);
    check_round_trip(text, duende::supervisor::parse_saved_supervisor);
  });
  return 0;
}
