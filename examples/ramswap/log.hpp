// ramswap's log: one line per event on stderr, "ramswap: <text>".
#pragma once

#include <string_view>

namespace ramswap {

// Makes stderr and stdout non-blocking when they are pipes or sockets. A swap device must
// never wait for its log reader: that reader may itself be waiting for a page that is in
// this swap. A full pipe loses lines instead. Terminals and files are left as they are.
void make_output_nonblocking();

// Writes "ramswap: <text>\n" to stderr in one write(2).
void log_line(std::string_view text);

}  // namespace ramswap
