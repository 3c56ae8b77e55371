// The library's one seam to the file system: whole-file reads of /proc.
#pragma once

#include <string>
#include <vector>

#include "duende/result.hpp"

namespace duende::mlock::internal {

// Reads the whole file at `path` (procfs files report size 0, so it reads until EOF).
// Fails with the errno of open() or read(); EINTR is retried.
Result<std::string, int> read_whole_file(const std::string& path);

// The names in directory `path`, without "." and "..", in the order readdir() gives them.
// Fails with the errno of opendir() or readdir().
Result<std::vector<std::string>, int> list_directory(const std::string& path);

}  // namespace duende::mlock::internal
