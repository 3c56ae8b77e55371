// What the benchmark hears while a peer runs, each with the time it arrived: the
// children's "hello NAME PID VMLCK_KB" datagrams (bench_child.c) and READY=1 on the same
// socket (mlock-supervisor's NOTIFY_SOCKET points there), and, for mlock-supervisor, its
// log lines "NAME: ready…" (the supervisor has verified the child: with "ready": "locked",
// that it is locked). One thread reads both and never falls behind: a child blocks on a
// full socket queue, and the daemon drops log lines it cannot write.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"

namespace duende::peers {

struct Hello {
  std::string name;
  pid_t pid = 0;
  long vmlck_kb = 0;
  Clock::time_point at;
};

// Parses "hello NAME PID VMLCK_KB"; nullopt for anything else.
std::optional<Hello> parse_hello(const std::string& text);
// "NAME" of a daemon log line "<6>NAME: ready…", nullopt for any other line.
std::optional<std::string> parse_ready_line(const std::string& line);

class Events {
 public:
  explicit Events(std::string socket_path);
  ~Events();
  Events(const Events&) = delete;
  Events& operator=(const Events&) = delete;

  const std::string& socket_path() const { return path_; }
  // Also reads log lines from `fd` (a pipe's reading end, taken over and closed later).
  void watch_log(int fd);
  // Forgets everything heard (a new peer run begins) and stops watching the log.
  void reset();

  // Every wait also gives up once `give_up` returns true (checked every 100 ms): a
  // SIGINT of the benchmark must not sit out a 1,000-child deadline.
  void set_give_up(bool (*give_up)()) { give_up_ = give_up; }
  // Waits until `done` (called under the lock) is true or `deadline` passes.
  bool wait(const std::function<bool()>& done, Clock::time_point deadline);

  // Under the lock (inside wait()'s predicate) or after it, from the main thread.
  std::size_t hello_count() const { return hellos_.size(); }
  std::size_t distinct_children() const { return latest_.size(); }
  std::optional<Hello> latest(const std::string& name) const;
  std::optional<Clock::time_point> ready_at() const { return ready_at_; }
  std::size_t ready_lines(const std::string& name) const;
  std::size_t ready_lines_total() const { return ready_total_; }
  std::optional<Clock::time_point> last_ready_line(const std::string& name) const;
  // The times of the latest hello of every child, and of the daemon's latest ready line.
  std::vector<Clock::time_point> hello_times() const;
  std::vector<Clock::time_point> ready_line_times() const;
  std::vector<pid_t> child_pids() const;
  std::mutex& mutex() { return mutex_; }

 private:
  void loop();
  void on_datagram(const std::string& text, Clock::time_point at);
  void on_log_bytes(const char* data, std::size_t n, Clock::time_point at);

  std::string path_;
  int sock_ = -1, log_fd_ = -1, wake_[2] = {-1, -1};
  bool stopping_ = false;
  std::string partial_line_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Hello> hellos_;
  std::map<std::string, Hello> latest_;
  std::map<std::string, std::vector<Clock::time_point>> ready_lines_;
  std::size_t ready_total_ = 0;
  std::optional<Clock::time_point> ready_at_;
  bool (*give_up_)() = nullptr;
  std::thread thread_;
};

}  // namespace duende::peers
