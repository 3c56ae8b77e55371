// What the supervisor process sets up for itself before its loop runs: its runtime
// directory and the signals it reads from a signalfd. Failures are returned, never thrown.
#pragma once

#include <sys/types.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "duende/result.hpp"

namespace duende::supervisor {

// The process's effective uid.
uid_t process_effective_uid();

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
