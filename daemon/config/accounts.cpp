// Resolving a child's "user" and "group" to ids through NSS, as the config is loaded.
#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "config/config_internal.hpp"

namespace duende::supervisor::config_detail {
namespace {

constexpr std::int64_t kMaxId = 4294967294;  // (uid_t)-1 means "unchanged" to setuid()

// What "user" or "group" says: a numeric id, or else a name.
struct IdSpec {
  std::optional<std::uint32_t> number;
  std::string name;
};

struct Account {
  uid_t uid;
  gid_t gid;
  std::string name;
};

// An NSS lookup: the entry, nullopt when there is none, or the errno of a failed lookup.
template <class T>
using Lookup = duende::mlock::Result<std::optional<T>, int>;

// Calls `lookup(buffer, size)` (a get*_r function) with a buffer grown until it fits.
template <class F>
int with_buffer(F lookup) {
  std::vector<char> buffer(1024);
  int rc = 0;
  while ((rc = lookup(buffer.data(), buffer.size())) == ERANGE && buffer.size() < (1u << 24)) {
    buffer.resize(buffer.size() * 2);
  }
  return rc;
}

Lookup<Account> find_user(const IdSpec& spec) {
  passwd entry{};
  passwd* found = nullptr;
  std::optional<Account> account;
  const int rc = with_buffer([&](char* buffer, std::size_t size) {
    const int result = spec.number ? getpwuid_r(*spec.number, &entry, buffer, size, &found)
                                   : getpwnam_r(spec.name.c_str(), &entry, buffer, size, &found);
    if (result == 0 && found != nullptr) {
      account = Account{entry.pw_uid, entry.pw_gid, entry.pw_name};
    }
    return result;
  });
  if (rc != 0 && rc != ENOENT && rc != ESRCH) return duende::mlock::Unexpected(rc);
  return account;
}

Lookup<gid_t> find_group(const IdSpec& spec) {
  if (spec.number) return std::optional<gid_t>(*spec.number);  // numeric: no lookup
  group entry{};
  group* found = nullptr;
  const int rc = with_buffer([&](char* buffer, std::size_t size) {
    return getgrnam_r(spec.name.c_str(), &entry, buffer, size, &found);
  });
  if (rc != 0 && rc != ENOENT && rc != ESRCH) return duende::mlock::Unexpected(rc);
  if (found == nullptr) return std::optional<gid_t>();
  return std::optional<gid_t>(entry.gr_gid);
}

// The groups initgroups(user, base) would set: base plus the user's memberships.
std::vector<gid_t> groups_of(const std::string& user, gid_t base) {
  std::vector<gid_t> groups(16);
  for (int attempt = 0; attempt < 8; ++attempt) {
    int count = static_cast<int>(groups.size());
    if (getgrouplist(user.c_str(), base, groups.data(), &count) != -1) {
      groups.resize(static_cast<std::size_t>(count));
      return groups;
    }
    // -1: too small, and count now holds the number needed.
    groups.resize(std::max(static_cast<std::size_t>(count), groups.size() * 2));
  }
  return {base};
}

// Reads "user" or "group": an integer, a string of digits, or a name. nullopt when absent
// or wrong (reported).
std::optional<IdSpec> read_id(const ObjectReader& reader, std::string_view key) {
  const Json* value = reader.find(key);
  if (value == nullptr) return std::nullopt;
  std::int64_t number = 0;
  if (value->is_number_integer()) {
    if (!reader.read_integer(key, number, 0, kMaxId)) return std::nullopt;
    return IdSpec{static_cast<std::uint32_t>(number), ""};
  }
  std::string text;
  if (!value->is_string()) {
    reader.sink().add(reader.pointer(key), type_error("a name or a numeric id", *value));
    return std::nullopt;
  }
  if (!reader.read_string(key, text)) return std::nullopt;
  if (text.empty()) {
    reader.sink().add(reader.pointer(key), "must not be empty");
    return std::nullopt;
  }
  if (text.find_first_not_of("0123456789") != std::string::npos) return IdSpec{{}, text};
  if (text.size() > 10 || std::stoll(text) > kMaxId) {
    reader.sink().add(reader.pointer(key),
                      "must be between 0 and 4294967294, got \"" + text + "\"");
    return std::nullopt;
  }
  return IdSpec{static_cast<std::uint32_t>(std::stoll(text)), ""};
}

std::string describe(std::string_view kind, const IdSpec& spec) {
  return std::string(kind) + " " +
         (spec.number ? std::to_string(*spec.number) : "\"" + spec.name + "\"");
}

// The account named by `spec`; nullopt when it is unknown (reported unless numeric).
std::optional<Account> resolve_user(const ObjectReader& reader, const IdSpec& spec) {
  auto account = find_user(spec);
  if (!account) {
    reader.sink().add(reader.pointer("user"), "cannot look up " + describe("user", spec) + ": " +
                                                  std::strerror(account.error()));
    return std::nullopt;
  }
  if (!*account && !spec.number) {
    reader.sink().add(reader.pointer("user"), "unknown " + describe("user", spec));
  }
  return *account;
}

std::optional<gid_t> resolve_group(const ObjectReader& reader, const IdSpec& spec) {
  auto gid = find_group(spec);
  if (!gid) {
    reader.sink().add(reader.pointer("group"), "cannot look up " + describe("group", spec) + ": " +
                                                   std::strerror(gid.error()));
    return std::nullopt;
  }
  if (!*gid) reader.sink().add(reader.pointer("group"), "unknown " + describe("group", spec));
  return *gid;
}

}  // namespace

void read_identity(const ObjectReader& reader, ChildSpec& child) {
  const auto user = read_id(reader, "user");
  const auto group = read_id(reader, "group");
  const std::optional<gid_t> gid = group ? resolve_group(reader, *group) : std::nullopt;
  if (!user) {
    if (gid) child.supplementary_groups = {*gid};
    child.gid = gid;
    return;
  }
  const std::optional<Account> account = resolve_user(reader, *user);
  if (!account && !user->number) return;  // unknown name, reported
  child.uid = account ? account->uid : *user->number;
  child.user_name = account ? account->name : "";
  child.gid = gid ? gid : (account ? std::optional<gid_t>(account->gid) : std::nullopt);
  if (!child.gid) {
    if (!group) {
      reader.sink().add(
          reader.pointer("user"),
          describe("user", *user) + " has no passwd entry, so no primary group; set \"group\" too");
    }
    return;
  }
  child.supplementary_groups =
      account ? groups_of(account->name, *child.gid) : std::vector<gid_t>{*child.gid};
}

}  // namespace duende::supervisor::config_detail
