// Quoting outside input safely: in a log line, an error message or a D-Bus string.
#pragma once

#include <string>
#include <string_view>

namespace duende::supervisor {

// `text` with every control byte (0x00-0x1f, 0x7f) and every byte that is not part of a
// valid UTF-8 sequence written as \xNN, so that a NUL cannot cut a message, raw control
// bytes never reach a terminal or the journal, and D-Bus (which requires UTF-8) accepts
// it. Everything else, valid multi-byte characters included, is kept as it is.
std::string escape_control(std::string_view text);

}  // namespace duende::supervisor
