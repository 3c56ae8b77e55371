// load_config: finding, vetting and reading the configuration files.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "config/config_internal.hpp"

namespace duende::supervisor {
namespace {

using Problems = std::vector<ConfigProblem>;

// Closes the descriptor it holds.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::string error_text(std::string_view what, int error) {
  return std::string(what) + ": " + std::strerror(error);
}

// Reports `path` when someone other than root could have written it. True when it is safe.
bool check_owner(const std::string& path, const struct stat& status, Problems& problems) {
  const char* why = S_ISDIR(status.st_mode) ? "its files name programs run as root"
                                            : "it names programs run as root";
  const std::size_t before = problems.size();
  if (status.st_uid != 0) {
    problems.push_back(
        {path, "",
         "refusing: owned by uid " + std::to_string(status.st_uid) + ", not root; " + why});
  }
  if ((status.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    char mode[16];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(status.st_mode & 07777));
    problems.push_back(
        {path, "", "refusing: writable by group/other (mode " + std::string(mode) + "); " + why});
  }
  return problems.size() == before;
}

bool is_dev_null(const struct stat& status) {
  return S_ISCHR(status.st_mode) && status.st_rdev == makedev(1, 3);
}

// Reads all of `fd`, but never more than `limit` + 1 bytes (enough to tell "too large");
// false (with errno set) on a read error.
bool read_all(int fd, std::string& text, std::size_t limit) {
  char buffer[65536];
  while (text.size() <= limit) {
    const std::size_t want = std::min(sizeof buffer, limit + 1 - text.size());
    const ssize_t n = ::read(fd, buffer, want);
    if (n == 0) return true;
    if (n < 0 && errno != EINTR) return false;
    if (n > 0) text.append(buffer, static_cast<std::size_t>(n));
  }
  return true;
}

// The text of the config file at `path`, or nullopt when it is masked (/dev/null), missing
// and `missing_ok`, or has a problem (reported). Symlinks are followed.
std::optional<std::string> read_config_file(const std::string& path, bool check_ownership,
                                            bool missing_ok, Problems& problems) {
  // O_NONBLOCK: opening a FIFO must not hang the daemon; it is then refused below.
  const int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  const FdCloser closer(raw);
  struct stat status {};
  if (raw < 0 || ::fstat(raw, &status) != 0) {
    if (errno != ENOENT || !missing_ok) {
      problems.push_back({path, "", error_text("cannot read", errno)});
    }
    return std::nullopt;
  }
  if (is_dev_null(status)) return std::nullopt;  // masked: checked before the 0666 mode
  if (!S_ISREG(status.st_mode)) {
    problems.push_back({path, "", "not a regular file"});
    return std::nullopt;
  }
  if (check_ownership && !check_owner(path, status, problems)) return std::nullopt;
  // Refused before a byte is read: a huge file must not grow the (locked) heap.
  if (static_cast<std::uint64_t>(status.st_size) > kMaxConfigFileBytes) {
    problems.push_back(
        {path, "", config_detail::too_large(static_cast<std::uint64_t>(status.st_size))});
    return std::nullopt;
  }
  std::string text;
  // One allocation of the final size (a large one is mmap'd and given back whole when
  // freed), not a doubling string whose smaller steps would stay in the locked heap.
  text.reserve(static_cast<std::size_t>(status.st_size) + 1);
  if (!read_all(raw, text, kMaxConfigFileBytes)) {
    problems.push_back({path, "", error_text("cannot read", errno)});
    return std::nullopt;
  }
  return text;
}

bool is_dropin_name(std::string_view name) {
  return !name.starts_with('.') && name.ends_with(".json");
}

// Adds the *.json names listed by `listing` to `found` unless already there.
void list_dropins(DIR* listing, const std::string& dir, std::map<std::string, std::string>& found,
                  Problems& problems) {
  const std::string prefix = dir.ends_with('/') ? dir : dir + "/";
  errno = 0;
  while (const dirent* entry = ::readdir(listing)) {
    if (is_dropin_name(entry->d_name)) found.emplace(entry->d_name, prefix + entry->d_name);
  }
  if (errno != 0) problems.push_back({dir, "", error_text("cannot read directory", errno)});
}

// Adds the drop-ins of `dir` whose names are not yet in `found` (an earlier directory
// wins), as name -> path. A missing directory has none.
void gather_dropins(const std::string& dir, bool check_ownership,
                    std::map<std::string, std::string>& found, Problems& problems) {
  const int raw = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (raw < 0) {
    if (errno == ENOTDIR) {
      problems.push_back({dir, "", "not a directory"});
    } else if (errno != ENOENT) {
      problems.push_back({dir, "", error_text("cannot read directory", errno)});
    }
    return;
  }
  FdCloser closer(raw);
  struct stat status {};
  if (::fstat(raw, &status) != 0) {
    problems.push_back({dir, "", error_text("cannot read directory", errno)});
    return;
  }
  if (check_ownership && !check_owner(dir, status, problems)) return;
  const std::unique_ptr<DIR, int (*)(DIR*)> listing(::fdopendir(raw), ::closedir);
  if (listing == nullptr) {
    problems.push_back({dir, "", error_text("cannot read directory", errno)});
    return;
  }
  closer.release();  // closedir() closes it now
  list_dropins(listing.get(), dir, found, problems);
}

}  // namespace

ConfigResult load_config(const ConfigSources& sources) {
  Problems problems;
  std::vector<std::pair<std::string, std::string>> docs;
  auto main_text = read_config_file(sources.main_file, sources.check_ownership,
                                    !sources.main_file_explicit, problems);
  docs.emplace_back(sources.main_file, main_text.value_or("{}"));
  std::map<std::string, std::string> dropins;  // lexical order of file name
  for (const std::string& dir : sources.dropin_dirs) {
    gather_dropins(dir, sources.check_ownership, dropins, problems);
  }
  for (const auto& [name, path] : dropins) {
    if (auto text = read_config_file(path, sources.check_ownership, false, problems)) {
      docs.emplace_back(path, std::move(*text));
    }
  }
  ConfigResult result = config_from_documents(docs);
  if (problems.empty()) return result;
  if (!result) problems.insert(problems.end(), result.error().begin(), result.error().end());
  return duende::mlock::Unexpected(std::move(problems));
}

}  // namespace duende::supervisor
