#include "os/cgroup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace duende::supervisor {
namespace {

constexpr std::size_t kMaxControlFile = 64 * 1024;  // /proc/self/cgroup, cgroup.events, ...
constexpr std::size_t kMaxMountinfo = 1024 * 1024;

}  // namespace

std::optional<std::string> read_pseudo_file(const std::string& path, std::size_t limit) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buf[4096];
  while (text.size() < limit) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      errno = e;
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (text.size() > limit) text.resize(limit);
  return text;
}

namespace {

// Writes `text` in one write(2) (cgroup control files take one value per write): 0 or errno.
int write_text(const std::string& path, std::string_view text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int e = n == static_cast<ssize_t>(text.size()) ? 0 : n < 0 ? errno : EIO;
  ::close(fd);
  return e;
}

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string join(const std::string& mount, const std::string& cgroup) {
  return cgroup == "/" ? mount : mount + cgroup;
}

// Splits the next whitespace-separated field off `s`.
std::string_view next_field(std::string_view& s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  const auto end = s.find(' ');
  const std::string_view field = s.substr(0, end);
  s.remove_prefix(end == std::string_view::npos ? s.size() : end);
  return field;
}

std::string unescape_octal(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Whether the one-line, space-separated `text` (cgroup.controllers) lists `word`.
bool has_word(std::string_view text, std::string_view word) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  while (!text.empty())
    if (next_field(text) == word) return true;
  return false;
}

// Whether systemd delegated the cgroup at `path` (Delegate=yes): it marks such cgroups
// with the trusted.delegate (and since v251 user.delegate) extended attribute.
bool delegated(const std::string& path) {
  for (const char* name : {"trusted.delegate", "user.delegate"}) {
    char value[8] = {};
    if (::getxattr(path.c_str(), name, value, sizeof value) > 0 && value[0] == '1') return true;
  }
  return false;
}

// Removes what supervisors that died (a SIGKILL leaves no time to tidy up) left below
// `parent`: their emptied bases and child cgroups. rmdir() refuses anything that still
// has processes, and a live supervisor's base is never touched.
void sweep_dead_bases(const std::string& parent) {
  DIR* dir = ::opendir(parent.c_str());
  if (!dir) return;
  std::vector<std::string> dead;
  while (const dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name.rfind("mlock-supervisor.", 0) != 0) continue;
    pid_t owner = 0;
    const char* digits = name.c_str() + std::strlen("mlock-supervisor.");
    const auto [end, ec] = std::from_chars(digits, name.c_str() + name.size(), owner);
    if (ec == std::errc() && *end == '\0' && owner > 0 && ::kill(owner, 0) != 0 && errno == ESRCH)
      dead.push_back(parent + "/" + name);
  }
  ::closedir(dir);
  for (const std::string& base : dead) {
    if (DIR* d = ::opendir(base.c_str())) {
      std::vector<std::string> children;
      while (const dirent* e = ::readdir(d))
        if (std::strncmp(e->d_name, "child.", 6) == 0) children.push_back(base + "/" + e->d_name);
      ::closedir(d);
      for (const std::string& c : children) ::rmdir(c.c_str());
    }
    ::rmdir(base.c_str());
  }
}

}  // namespace

std::optional<std::string> parse_unified_cgroup(std::string_view text) {
  while (!text.empty()) {
    const auto end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.substr(0, 3) == "0::") {
      const std::string_view path = line.substr(3);
      if (path.empty() || path.front() != '/') return std::nullopt;
      // A process in a cgroup that was removed shows " (deleted)".
      if (path.find(" (deleted)") != std::string_view::npos) return std::nullopt;
      return std::string(path);
    }
  }
  return std::nullopt;
}

std::optional<std::string> parse_cgroup2_mount(std::string_view text) {
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER"
    const auto dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    std::string_view tail = line.substr(dash + 3);
    if (next_field(tail) != "cgroup2") continue;
    std::string_view head = line.substr(0, dash);
    next_field(head);
    next_field(head);
    next_field(head);
    const std::string_view root = next_field(head);
    const std::string_view mount_point = next_field(head);
    // A bind mount of a sub-tree (root not "/") would shift every path: not usable.
    if (root != "/" || mount_point.empty() || mount_point.front() != '/') continue;
    return unescape_octal(mount_point);
  }
  return std::nullopt;
}

std::vector<pid_t> parse_pid_list(std::string_view text) {
  std::vector<pid_t> pids;
  while (!text.empty()) {
    const auto end = text.find_first_of(" \n");
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    pid_t pid = 0;
    const auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), pid);
    if (ec == std::errc() && p == line.data() + line.size() && pid > 0) pids.push_back(pid);
  }
  return pids;
}

Cgroups Cgroups::unusable(std::string why) {
  Cgroups c;
  c.why_not_ = std::move(why);
  return c;
}

Cgroups Cgroups::set_up(bool under_service_manager) {
  const auto mountinfo = read_pseudo_file("/proc/self/mountinfo", kMaxMountinfo);
  const auto mount = mountinfo ? parse_cgroup2_mount(*mountinfo) : std::nullopt;
  if (!mount) return unusable("no cgroup v2 hierarchy is mounted");
  const auto own_text = read_pseudo_file("/proc/self/cgroup", kMaxControlFile);
  const auto own = own_text ? parse_unified_cgroup(*own_text) : std::nullopt;
  if (!own) return unusable("this process has no cgroup on the v2 hierarchy at " + *mount);
  Cgroups c;
  c.mount_ = *mount;
  std::string base;
  const bool service =
      under_service_manager && own->size() > 8 && own->compare(own->size() - 8, 8, ".service") == 0;
  if (base_name(*own) == "supervisor") {  // our own leaf: a re-exec or a restart into it
    base = join(*mount, parent_of(*own));
    c.own_base_ = base_name(base).rfind("mlock-supervisor.", 0) == 0;
    c.unit_base_ = !c.own_base_;
  } else if (service) {
    base = join(*mount, *own);
    c.unit_base_ = true;
    // A cgroup systemd did not hand over is systemd's: nothing below it is ours to make.
    if (!delegated(base))
      return unusable("the unit's cgroup " + base +
                      " is not delegated to the supervisor (the unit needs Delegate=yes)");
  } else {
    sweep_dead_bases(join(*mount, *own));
    base = join(*mount, *own) + "/mlock-supervisor." + std::to_string(::getpid());
    if (::mkdir(base.c_str(), 0755) != 0 && errno != EEXIST)
      return unusable("cannot make " + base + ": " + std::strerror(errno));
    c.own_base_ = true;
  }
  if (!c.own_base_ && base_name(*own) != "supervisor") {
    const std::string leaf = base + "/supervisor";
    if (::mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST)
      return unusable("cannot make " + leaf + ": " + std::strerror(errno) +
                      " (does the unit say Delegate=yes?)");
    if (const int e = write_text(leaf + "/cgroup.procs", "0"); e != 0)
      return unusable("cannot move the supervisor into " + leaf + ": " + std::strerror(e));
  }
  if (::access((base + "/cgroup.procs").c_str(), W_OK) != 0)
    return unusable(base + " is not writable: " + std::strerror(errno));
  // The memory controller, where the parent hands it down: children get memory.swap.max.
  // Never in a unit's own cgroup: a cgroup that hands controllers down may hold no
  // process, and systemd (before DelegateSubgroup=, v254) starts a restarted supervisor
  // right there — the restart would fail and leave every child unsupervised.
  const auto controllers = read_pseudo_file(base + "/cgroup.controllers", kMaxControlFile);
  if (!c.unit_base_ && controllers && has_word(*controllers, "memory"))
    c.memory_ = write_text(base + "/cgroup.subtree_control", "+memory") == 0;
  c.base_ = std::move(base);
  return c;
}

std::string Cgroups::description() const {
  if (!usable()) return "process groups: " + why_not_;
  return "cgroup v2: " + base_ +
         (memory_      ? " (memory controller: memory.swap.max 0 for children that must be locked)"
          : unit_base_ ? " (memory controller not enabled below a unit: systemd could not "
                         "restart the supervisor into its cgroup; MemorySwapMax= caps the unit)"
                       : " (no memory controller: memory.swap.max not set)");
}

mlock::Result<std::string, int> Cgroups::prepare_child(const std::string& name, bool forbid_swap,
                                                       std::vector<pid_t>& leftovers,
                                                       std::string& warning) const {
  if (!usable()) return mlock::Unexpected(ENOTSUP);
  const std::string path = base_ + "/" + child_dir_name(name);
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return mlock::Unexpected(errno);
  leftovers = processes(path, 64);
  if (!leftovers.empty()) kill_all(path);
  if (memory_) {
    const char* value = forbid_swap ? "0" : "max";
    if (const int e = write_text(path + "/memory.swap.max", value); e != 0)
      warning = "cannot set memory.swap.max " + std::string(value) + ": " + std::strerror(e);
  }
  return path;
}

std::uint64_t Cgroups::oom_kills(const std::string& path) {
  const auto text = read_pseudo_file(path + "/memory.events", kMaxControlFile);
  if (!text) return 0;
  const auto at = text->find("oom_kill ");
  if (at == std::string::npos) return 0;
  std::uint64_t n = 0;
  const char* begin = text->data() + at + 9;
  std::from_chars(begin, text->data() + text->size(), n);
  return n;
}

int Cgroups::open_directory(const std::string& path) {
  return ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

std::vector<pid_t> Cgroups::processes(const std::string& path, std::size_t limit) {
  const auto text = read_pseudo_file(path + "/cgroup.procs", procs_bytes(limit));
  return text ? processes_in(*text, limit) : std::vector<pid_t>{};
}

// A pid is at most 8 characters and a newline: procs_bytes().
std::vector<pid_t> Cgroups::processes_in(std::string_view procs_text, std::size_t limit) {
  std::vector<pid_t> pids = parse_pid_list(procs_text);
  if (pids.size() > limit) pids.resize(limit);
  return pids;
}

bool Cgroups::populated(const std::string& path) {
  const auto text = read_pseudo_file(path + "/cgroup.events", kMaxControlFile);
  return text && text->find("populated 1") != std::string::npos;
}

int Cgroups::kill_all(const std::string& path) {
  const int e = write_text(path + "/cgroup.kill", "1");
  if (e != ENOENT || ::access((path + "/cgroup.procs").c_str(), F_OK) != 0) return e;
  // Before Linux 5.14 there is no cgroup.kill: each process, a few rounds, since a process
  // may fork between the read and the kill (SIGKILL stops it doing so for long).
  for (int round = 0; round < 4; ++round) {
    const std::vector<pid_t> pids = processes(path, 4096);
    if (pids.empty()) break;
    for (const pid_t pid : pids) ::kill(pid, SIGKILL);
  }
  return 0;
}

void Cgroups::remove(const std::string& path) {
  if (path.empty() || ::rmdir(path.c_str()) != 0) return;
  const std::string parent = parent_of(path);
  if (base_name(parent).rfind("mlock-supervisor.", 0) != 0) return;
  // An earlier supervisor's base (not ours: ours still holds its other children or is
  // removed at the end): gone with its last child. rmdir fails while anything is left.
  const std::string owner = base_name(parent).substr(std::strlen("mlock-supervisor."));
  if (owner != std::to_string(::getpid())) ::rmdir(parent.c_str());
}

std::string Cgroups::cgroup_of(pid_t pid, const std::string& mount) {
  if (mount.empty()) return {};
  const auto text = read_pseudo_file("/proc/" + std::to_string(pid) + "/cgroup", kMaxControlFile);
  const auto own = text ? parse_unified_cgroup(*text) : std::nullopt;
  return own ? join(mount, *own) : std::string();
}

void Cgroups::remove_base() const {
  if (!own_base_ || base_.empty()) return;
  ::rmdir(base_.c_str());  // EBUSY while a child cgroup is left: it stays
}

}  // namespace duende::supervisor
