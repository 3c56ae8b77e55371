// Text from /proc that a log line or a D-Bus string can carry as it is.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace duende::mlock::internal {

// `text` with every byte outside printable ASCII (0x20-0x7e) written as "\xNN" (two
// lowercase hex digits), so the result is one line of valid UTF-8 whatever a process named
// itself or its files. Backslashes are kept as they are: the kernel already writes "\012"
// for a newline in a mapping's path. At most `max_bytes` long: when longer, it is cut
// between two escapes and ends in "...". Pure; throws only std::bad_alloc.
std::string printable_text(std::string_view text, std::size_t max_bytes = 256);

}  // namespace duende::mlock::internal
