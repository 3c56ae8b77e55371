// Small files that must be whole whenever they are read: written to a temporary name in
// the same directory and renamed over the old one, so a crash at any moment leaves either
// the old file or the new one, never a part of either.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace duende::supervisor {

// Writes `text` to `path` atomically (PATH.tmp, then rename), mode `mode`. Returns 0 or
// the errno of the step that failed (the temporary file is removed then).
int write_file_atomically(const std::string& path, std::string_view text, mode_t mode = 0600);

// The contents of `path` when it is a regular file of at most `max_bytes`; nullopt when it
// does not exist. `error` gets what went wrong otherwise ("" when fine or missing).
std::optional<std::string> read_file_bounded(const std::string& path, std::size_t max_bytes,
                                             std::string& error);

}  // namespace duende::supervisor
