// What the supervisor process sets up for itself before its loop runs: its runtime
// directory and the signals it reads from a signalfd. Failures are returned, never thrown.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "duende/result.hpp"

namespace duende::supervisor {

// The process's effective uid.
uid_t process_effective_uid();

// Raises the soft RLIMIT_NOFILE to the hard limit (what the unit's LimitNOFILE= allows):
// the supervisor holds a descriptor per child. Returns the limits as they were, which is
// what children get back (spawn_process()'s nofile_limit): a program may rely on select()
// and FD_SETSIZE and never expect more than the usual 1024. Never fails: when the limits
// cannot be read or set, the current soft limit stays and is returned as both.
rlimit raise_fd_limit();

// The soft and the hard RLIMIT_NOFILE now (UINT64_MAX for unlimited or unreadable).
std::uint64_t fd_limit_now();
std::uint64_t fd_limit_hard();

// Creates `directory` (mode 0755) unless it exists. Failure: "mkdir DIR: <strerror>".
mlock::Result<void, std::string> make_directory(const std::string& directory);

// The signals `signals` blocked for the process and readable from one signalfd
// (non-blocking, close-on-exec); SIGPIPE ignored, so a write to a closed pipe or socket
// is an EPIPE, never a death. Children reset both (spawn_process()).
class SignalReader {
 public:
  // Failure: "sigprocmask: …" or "signalfd: …" (EMFILE, ENOMEM).
  static mlock::Result<SignalReader, std::string> open(std::initializer_list<int> signals);
  SignalReader(SignalReader&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  SignalReader& operator=(SignalReader&&) = delete;
  ~SignalReader();

  int fd() const { return fd_; }
  // The signals delivered since the last call, in order; never blocks.
  std::vector<int> read_pending();

 private:
  explicit SignalReader(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace duende::supervisor
