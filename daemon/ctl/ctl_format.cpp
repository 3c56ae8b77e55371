#include "ctl/ctl_format.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <string_view>

#include "api/human_size.hpp"
#include "ctl/ctl_swap.hpp"

namespace duende::supervisor {

namespace {

// Below this a memlock headroom gets a line in `mlockctl status` (the daemon's warning
// also weighs the limit, which the bus does not show).
constexpr std::uint64_t kLowHeadroomBytes = 1024 * 1024;

std::string pad(const std::string& s, std::size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

std::string locked_word(const CtlChild& c) {
  if (c.pid == 0) return "-";
  if (c.is_locked)
    return c.swapped_bytes > 0                                   ? "SWAPPED"
           : c.unlocked_mappings > 0 || c.unlocked_processes > 0 ? "PARTIAL"
                                                                 : "yes";
  return c.must_be_locked ? "NO" : "no";
}

// Whether every thread of the child carries IO_FLUSHER's flags: NO when it was asked to
// and does not, "-" when unknown (no process, not read yet).
std::string io_flusher_word(const CtlChild& c) {
  if (c.pid == 0 || c.io_flusher.empty()) return "-";
  if (c.io_flusher == "yes") return "yes";
  return c.wants_io_flusher ? "NO" : "no";
}

std::string count(std::uint32_t n, const char* word) {
  const bool sibilant = !std::string_view(word).empty() && std::string_view(word).back() == 's';
  return std::to_string(n) + " " + word + (n == 1 ? "" : sibilant ? "es" : "s");
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

bool io_flusher_missing(const CtlChild& c) {
  return c.wants_io_flusher && c.io_flusher == kIoFlusherNo &&
         parse_child_state(c.state) == ChildState::Running;
}

// Why a child is in trouble (in_trouble()), a line each.
std::string lock_trouble_line(const CtlChild& c) {
  if (!c.must_be_locked || parse_child_state(c.state) != ChildState::Running) return "";
  const std::string head = c.name + ": must be locked but ";
  if (!c.is_locked) return head + "VmLck is 0\n";
  if (c.swapped_bytes > 0)
    return head + human_size(c.swapped_bytes) + " is in swap" +
           (c.swapped_shmem_bytes > 0
                ? " (" + human_size(c.swapped_shmem_bytes) + " of it shared memory)"
                : "") +
           "\n";
  if (c.unlocked_processes > 0)
    return head + count(c.unlocked_processes, "process") + " of its tree " +
           (c.unlocked_processes == 1 ? "runs" : "run") + " unlocked\n";
  if (c.unlocked_mappings > 0)
    return head + std::to_string(c.unlocked_mappings) + " of its mappings are not (" +
           human_size(c.resident_unlocked_bytes) + " resident unlocked)\n";
  return "";
}

std::string trouble_lines(const CtlChild& c) {
  if (parse_child_state(c.state) == ChildState::Failed)
    return c.name + ": failed: " + c.last_failure + "\n";
  if (parse_child_state(c.state) == ChildState::Backoff)
    return c.name + ": backoff, restarting after a delay: " + c.last_failure + "\n";
  std::string out = lock_trouble_line(c);
  if (io_flusher_missing(c))
    out += c.name + ": must be an I/O flusher but " +
           std::to_string(c.threads - std::min(c.threads, c.io_flusher_threads)) + " of " +
           count(c.threads, "thread") + " lack PF_MEMALLOC_NOIO|PF_LOCAL_THROTTLE\n";
  return out;
}

// What an operator should know before it is trouble: a locked child with little memlock
// headroom left, OOM kills.
std::string notice_lines(const CtlChild& c) {
  std::string out;
  if (c.is_locked && c.memlock_headroom_bytes < kLowHeadroomBytes)
    out += c.name + ": " + human_size(c.memlock_headroom_bytes) +
           " left below RLIMIT_MEMLOCK (MCL_FUTURE makes later allocations fail at the "
           "limit)\n";
  if (c.oom_kills > 0)
    out += c.name + ": " + count(c.oom_kills, "process") + " ended by the OOM killer\n";
  return out;
}

}  // namespace

std::string format_timestamp(std::uint64_t us) {
  if (us == 0) return "-";
  const auto t = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  char buf[32];
  if (!localtime_r(&t, &tm) || std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm) == 0)
    return "@" + std::to_string(us / 1000000);
  return buf;
}

std::string exit_status_text(std::int32_t status) {
  return status == kExitStatusUnknown ? "unknown" : std::to_string(status);
}

bool ctl_in_trouble(const CtlChild& c) {
  return in_trouble(c) || parse_child_state(c.state) == ChildState::Backoff;
}

std::string format_uptime(std::uint64_t started_us, std::uint64_t now_us) {
  if (started_us == 0) return "-";
  const std::uint64_t s = now_us > started_us ? (now_us - started_us) / 1000000 : 0;
  const auto two = [](std::uint64_t a, const char* ua, std::uint64_t b, const char* ub) {
    return std::to_string(a) + ua + (b ? std::to_string(b) + ub : "");
  };
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return two(s / 60, "min", s % 60, "s");
  if (s < 86400) return two(s / 3600, "h", s % 3600 / 60, "min");
  return two(s / 86400, "d", s % 86400 / 3600, "h");
}

std::string format_status(const CtlSnapshot& s) {
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return format_status(s, static_cast<std::uint64_t>(now.count()));
}

std::string format_status(const CtlSnapshot& s, std::uint64_t now_us) {
  std::string out = "mlock-supervisor " + s.version + ": " + s.state + "; self " +
                    (s.self_locked ? "locked, " + human_size(s.self_locked_bytes) : "NOT locked");
  if (s.started_at_us != 0)  // 0: a daemon without the property
    out += "; started " + format_timestamp(s.started_at_us) + ", " + count(s.restarts, "restart") +
           ", " + count(s.reexecs, "re-exec");
  out += "\n";
  // Said only when children's trees are not tracked: the exception an operator must see.
  if (!s.process_tracking.empty() && s.process_tracking.rfind("cgroup", 0) != 0)
    out += "children run in " + s.process_tracking + "\n";
  std::size_t name_width = 4;
  for (const auto& c : s.children) name_width = std::max(name_width, c.name.size());
  out += pad("NAME", name_width + 1) + pad("STATE", 9) + pad("PID", 8) + pad("LOCKED", 8) +
         pad("VMLCK", 10) + pad("VMSWAP", 10) + pad("RESTARTS", 11) + pad("IOFLUSH", 9) + "UP\n";
  for (const auto& c : s.children)
    out += pad(c.name, name_width + 1) + pad(c.state, 9) +
           pad(c.pid ? std::to_string(c.pid) : "-", 8) + pad(locked_word(c), 8) +
           pad(human_size(c.locked_bytes), 10) + pad(human_size(c.swapped_bytes), 10) +
           pad(std::to_string(c.restarts), 11) + pad(io_flusher_word(c), 9) +
           format_uptime(c.pid ? c.started_at_us : 0, now_us) + "\n";
  // The processes of a child that has more than its main one, indented below it.
  for (const auto& c : s.children) {
    if (c.processes.size() < 2) continue;
    out += c.name + ": " + std::to_string(c.processes.size()) + " processes\n";
    for (const TreeProcess& p : c.processes)
      out += "  " + pad(std::to_string(p.pid), 8) + pad(p.comm, 17) +
             pad(p.locked           ? "yes"
                 : c.must_be_locked ? "NO"
                                    : "no",
                 8) +
             pad(human_size(p.locked_bytes), 10) + human_size(p.swapped_bytes) + "\n";
  }
  for (const auto& c : s.children) out += swap_line(c);
  for (const auto& c : s.children) out += trouble_lines(c) + notice_lines(c);
  // Adopted children, by the moment (to the second) they were: after a re-exec or a
  // restart of the supervisor, all of them at once, on one line.
  std::map<std::string, std::vector<std::string>> adopted;  // "YYYY-MM-DD HH:MM:SS" sorts
  for (const auto& c : s.children)
    if (c.adopted) adopted[format_timestamp(c.adopted_at_us)].push_back(c.name);
  for (const auto& [when, names] : adopted) out += "adopted " + when + ": " + join(names) + "\n";
  return out;
}

std::string format_list(const CtlSnapshot& s) {
  std::string out;
  for (const auto& c : s.children)
    out += c.name + " " + c.state + " " + std::to_string(c.pid) + "\n";
  return out;
}

nlohmann::ordered_json processes_json(const CtlChild& c) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const TreeProcess& p : c.processes)
    out.push_back({{"pid", p.pid},
                   {"comm", p.comm},
                   {"locked", p.locked},
                   {"locked_bytes", p.locked_bytes},
                   {"swapped_bytes", p.swapped_bytes}});
  return out;
}

std::string format_json(const CtlSnapshot& s) {
  nlohmann::ordered_json doc = {{"format", 1},
                                {"version", s.version},
                                {"state", s.state},
                                {"self_locked", s.self_locked},
                                {"self_locked_bytes", s.self_locked_bytes},
                                {"started_at_us", s.started_at_us},
                                {"restarts", s.restarts},
                                {"reexecs", s.reexecs},
                                {"reexec_failure", s.reexec_failure},
                                {"process_tracking", s.process_tracking},
                                {"children", nlohmann::ordered_json::array()}};
  for (const auto& c : s.children)
    doc["children"].push_back(
        {{"name", c.name},
         {"state", c.state},
         {"pid", c.pid},
         {"started_at_us", c.started_at_us},
         {"adopted", c.adopted},
         {"adopted_at_us", c.adopted_at_us},
         {"is_locked", c.is_locked},
         {"must_be_locked", c.must_be_locked},
         {"fully_locked", c.fully_locked},
         {"unlocked_mappings", c.unlocked_mappings},
         {"unlocked_processes", c.unlocked_processes},
         {"processes", processes_json(c)},
         {"locked_bytes", c.locked_bytes},
         {"swapped_bytes", c.swapped_bytes},
         {"resident_bytes", c.resident_bytes},
         {"swapped_shmem_bytes", c.swapped_shmem_bytes},
         {"resident_unlocked_bytes", c.resident_unlocked_bytes},
         {"memlock_headroom_bytes", c.memlock_headroom_bytes == kNoMemlockHeadroom
                                        ? nlohmann::ordered_json(nullptr)
                                        : nlohmann::ordered_json(c.memlock_headroom_bytes)},
         {"threads", c.threads},
         {"io_flusher_threads", c.io_flusher_threads},
         {"io_flusher", c.io_flusher.empty()
                            ? nlohmann::ordered_json(nullptr)
                            : nlohmann::ordered_json(c.io_flusher == kIoFlusherYes)},
         {"wants_io_flusher", c.wants_io_flusher},
         {"oom_kills", c.oom_kills},
         {"restarts", c.restarts},
         {"last_exit_status", c.last_exit_status == kExitStatusUnknown
                                  ? nlohmann::ordered_json(nullptr)
                                  : nlohmann::ordered_json(c.last_exit_status)},
         {"last_failure", c.last_failure},
         {"lock_report", c.lock_report},
         {"command", c.command},
         {"swap", !has_swap(c) ? nlohmann::ordered_json(nullptr)
                               : nlohmann::ordered_json{{"device", c.swap_device},
                                                        {"state", c.swap_state},
                                                        {"error", c.swap_error},
                                                        {"size_bytes", c.swap_size_bytes},
                                                        {"used_bytes", c.swap_used_bytes}}},
         {"in_trouble", ctl_in_trouble(c)}});
  return doc.dump(2) + "\n";
}

std::string format_reexec(const CtlReexec& r, bool json) {
  std::vector<std::string> kept, not_kept, adopted;
  for (const auto& b : r.before.children) {
    if (b.pid == 0) continue;
    const auto a = std::find_if(r.after.children.begin(), r.after.children.end(),
                                [&](const CtlChild& c) { return c.name == b.name; });
    (a != r.after.children.end() && a->pid == b.pid ? kept : not_kept).push_back(b.name);
  }
  for (const auto& c : r.after.children)
    if (c.adopted) adopted.push_back(c.name);
  if (json) {
    nlohmann::ordered_json doc = {{"format", 1},
                                  {"pid", r.pid},
                                  {"version_before", r.before.version},
                                  {"version", r.after.version},
                                  {"reexecs", r.after.reexecs},
                                  {"kept", kept},
                                  {"not_kept", not_kept},
                                  {"adopted", adopted}};
    return doc.dump(2) + "\n";
  }
  std::string out = "mlock-supervisor re-executed in place (";
  if (r.pid) out += "pid " + std::to_string(r.pid) + ", ";
  out += r.before.version == r.after.version ? r.after.version
                                             : r.before.version + " -> " + r.after.version;
  out += "): " + std::to_string(kept.size()) + (kept.size() == 1 ? " child" : " children") +
         " kept, " + std::to_string(adopted.size()) + " adopted";
  if (!not_kept.empty()) out += "; not kept: " + join(not_kept);
  return out + "\n";
}

}  // namespace duende::supervisor
