// Runs a function in a forked child that stays alive until told to exit, so a test can
// look at the child from outside (its /proc) after the function ran. The test runner
// itself must never lock its own memory, which is why locking tests fork.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>

namespace duende::test {

class ForkedChild {
 public:
  // Forks; the child runs `body`, sends its returned text to the parent, and waits
  // for the parent's finish() (or death) before _exit(0).
  explicit ForkedChild(const std::function<std::string()>& body) {
    int to_parent[2], to_child[2];
    if (pipe2(to_parent, O_CLOEXEC) != 0 || pipe2(to_child, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
    fflush(nullptr);
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      close(to_parent[0]);
      close(to_child[1]);
      std::string text;
      try {
        text = body();
      } catch (const std::exception& e) {
        text = std::string("exception: ") + e.what();
      }
      (void)!write(to_parent[1], text.data(), text.size());
      close(to_parent[1]);
      char c;
      while (read(to_child[0], &c, 1) > 0) {
      }
      _exit(0);
    }
    close(to_parent[1]);
    close(to_child[0]);
    from_child_ = to_parent[0];
    to_child_ = to_child[1];
  }
  ForkedChild(const ForkedChild&) = delete;
  ForkedChild& operator=(const ForkedChild&) = delete;
  ~ForkedChild() { finish(); }

  pid_t pid() const { return pid_; }

  // The text the body returned; blocks until the body is done.
  const std::string& message() {
    if (from_child_ >= 0) {
      char buf[4096];
      ssize_t n;
      while ((n = read(from_child_, buf, sizeof buf)) > 0) message_.append(buf, n);
      close(from_child_);
      from_child_ = -1;
    }
    return message_;
  }

  // Lets the child exit and reaps it; returns its wait status.
  int finish() {
    message();
    if (to_child_ >= 0) {
      close(to_child_);
      to_child_ = -1;
    }
    if (pid_ > 0) {
      waitpid(pid_, &status_, 0);
      pid_ = -1;
    }
    return status_;
  }

 private:
  pid_t pid_ = -1;
  int from_child_ = -1;
  int to_child_ = -1;
  int status_ = -1;
  std::string message_;
};

}  // namespace duende::test
