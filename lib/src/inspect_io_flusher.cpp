// inspect_io_flusher(): which threads of a process carry PR_SET_IO_FLUSHER's flags.
#include <cerrno>
#include <charconv>
#include <string>

#include "duende/mlock.hpp"
#include "inspect_failure.hpp"
#include "printable_text.hpp"
#include "proc_files.hpp"
#include "proc_task_stat.hpp"

namespace duende::mlock {
namespace {

using internal::inspect_failure;
using internal::read_failure;

constexpr std::uint32_t kPfKthread = 0x00200000;  // PF_KTHREAD, include/linux/sched.h

bool is_task_id(std::string_view name) {
  pid_t tid = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), tid);
  return ec == std::errc() && end == name.data() + name.size() && tid > 0;
}

}  // namespace

Result<IoFlusherThreads, InspectError> inspect_io_flusher(pid_t pid) {
  if (pid <= 0) return inspect_failure(pid, EINVAL, "not a process id");
  const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  const auto tids = internal::list_directory(task_dir);
  if (!tids) return read_failure(pid, task_dir, tids.error());
  IoFlusherThreads out;
  out.pid = pid;
  for (const std::string& tid : *tids) {
    if (!is_task_id(tid)) continue;
    const std::string path = task_dir + "/" + tid + "/stat";
    const auto text = internal::read_whole_file(path);
    // A thread that exited since the listing is no longer one of the process's threads.
    if (!text && (text.error() == ENOENT || text.error() == ESRCH)) continue;
    if (!text) return read_failure(pid, path, text.error());
    if (text->empty()) continue;
    const auto stat = internal::parse_task_stat(*text);
    if (!stat) return inspect_failure(pid, EINVAL, path + ": " + stat.error());
    if (stat->flags & kPfKthread)
      return inspect_failure(pid, EINVAL, "a kernel thread, not a user process");
    // An exited thread not yet reaped (a thread group leader that called pthread_exit())
    // allocates nothing any more: its flags do not matter.
    if (stat->state == 'Z' || stat->state == 'X') continue;
    ++out.threads;
    if ((stat->flags & kIoFlusherFlags) == kIoFlusherFlags) {
      ++out.io_flusher_threads;
    } else if (out.first_other_tid == 0) {
      out.first_other_tid = static_cast<pid_t>(stat->tid);
      out.first_other_comm = internal::printable_text(stat->comm, 64);
    }
  }
  if (out.threads == 0)
    return inspect_failure(pid, ESRCH, "process has exited (zombie): it has no live threads");
  return out;
}

}  // namespace duende::mlock
