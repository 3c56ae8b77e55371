// definition_hash(): what a restarted supervisor compares to know whether a child it finds
// running still runs the definition it was started with.
#include <cstdio>
#include <string>

#include "config/config.hpp"

namespace duende::supervisor {
namespace {

// Each value length-prefixed, so no two different definitions read the same.
void put(std::string& out, const std::string& value) {
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += ';';
}

template <class T>
void put_number(std::string& out, T value) {
  put(out, std::to_string(value));
}

void put_seconds(std::string& out, double value) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  put(out, buf);
}

template <class T>
void put_optional(std::string& out, const std::optional<T>& value) {
  if (value)
    put_number(out, *value);
  else
    put(out, "-");
}

}  // namespace

std::string definition_text(const ChildSpec& c) {
  std::string out = "v1;";
  put(out, c.name);
  put_number(out, c.exec.size());
  for (const auto& arg : c.exec) put(out, arg);
  put_number(out, c.environment.size());
  for (const auto& [key, value] : c.environment) {
    put(out, key);
    put(out, value);
  }
  put(out, c.working_directory);
  put_optional(out, c.uid);
  put_optional(out, c.gid);
  put_number(out, c.supplementary_groups.size());
  for (const gid_t g : c.supplementary_groups) put_number(out, g);
  put(out, c.user_name);
  put_number(out, c.preload);
  const mlock::MlockConfig& m = c.mlock;
  put(out, std::string{m.current() ? 'c' : '-', m.future() ? 'f' : '-', m.onfault() ? 'o' : '-',
                       m.required() ? 'r' : '-', m.io_flusher() ? 'i' : '-',
                       m.retain_heap() ? 'h' : '-'});
  // Written only when not the default: a field added later must not change the hash of
  // a definition that does not use it, or an upgrade would restart every child.
  if (!m.relock_after_fork()) put(out, "relock_after_fork off");
  put_optional(out, c.limit_memlock);
  put_number(out, c.oom_score_adj);
  put_number(out, static_cast<int>(c.ready));
  put_number(out, c.after.size());
  for (const auto& a : c.after) put(out, a);
  put_seconds(out, c.start_timeout_sec);
  put_number(out, static_cast<int>(c.restart));
  put_seconds(out, c.restart_sec);
  put_seconds(out, c.restart_max_sec);
  put_number(out, c.start_limit_burst);
  put_seconds(out, c.start_limit_interval_sec);
  put_number(out, c.stop_signal);
  put_seconds(out, c.stop_timeout_sec);
  put_number(out, static_cast<int>(c.on_lock_lost));
  if (c.swap) {  // only when set, as every field added later (see relock_after_fork above)
    put(out, "swap");
    put(out, c.swap->device);
    put_number(out, c.swap->priority);
    put_number(out, c.swap->mkswap);
  }
  return out;
}

std::string definition_hash(const ChildSpec& child) {
  // FNV-1a, 64 bits: the state file is the supervisor's own, in a root-only directory;
  // this tells definitions apart, it does not defend against anyone.
  std::uint64_t h = 14695981039346656037ull;
  for (const unsigned char ch : definition_text(child)) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace duende::supervisor
