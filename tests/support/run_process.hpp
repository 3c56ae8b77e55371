// Runs a program to completion and captures its exit status and stderr.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace duende::test {

struct ProcessResult {
  int exit_code = -1;   // WEXITSTATUS, or -1 when killed by a signal
  int term_signal = 0;  // the signal that killed it, if any
  std::string err;      // everything it wrote to stderr
};

// Runs argv[0] (an absolute path) with exactly `env`, after `before_exec` ran in the
// forked child (to drop privileges, say). stdout goes to /dev/null.
inline ProcessResult run_process(const std::vector<std::string>& argv,
                                 const std::vector<std::string>& env,
                                 const std::function<void()>& before_exec = {}) {
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(err_pipe[1], 2);
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    if (before_exec) before_exec();
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(err_pipe[1]);
  ProcessResult r;
  char buf[4096];
  ssize_t n;
  while ((n = read(err_pipe[0], buf, sizeof buf)) > 0) r.err.append(buf, n);
  close(err_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.term_signal = WTERMSIG(status);
  return r;
}

}  // namespace duende::test
