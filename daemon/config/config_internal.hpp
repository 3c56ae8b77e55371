// Pieces shared by the config_*.cpp files; not part of the daemon's interface.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace duende::supervisor::config_detail {

using Json = nlohmann::json;

// `pointer` extended by one reference token, escaped as RFC 6901 requires.
std::string child_pointer(const std::string& pointer, std::string_view token);

// Which file last set each JSON pointer of the merged document. Removals are recorded too,
// so that a value missing because a drop-in deleted it is blamed on that drop-in.
class Provenance {
 public:
  // Records that `file` set (or removed) the value at `pointer`; forgets its descendants.
  void set(const std::string& pointer, const std::string& file);
  // The file recorded for `pointer` or its nearest recorded ancestor, else `fallback`.
  std::string file_for(std::string_view pointer, const std::string& fallback) const;

 private:
  std::map<std::string, std::string, std::less<>> file_by_pointer_;
};

// Applies `patch` (from `file`) to `target` as an RFC 7386 merge patch, recording what it
// set in `provenance`. `pointer` is where `target` sits in the whole document.
void merge_patch(Json& target, const Json& patch, const std::string& pointer,
                 const std::string& file, Provenance& provenance);

// Collects problems about the merged document, blaming each on the file that set it.
class ProblemSink {
 public:
  ProblemSink(const Provenance& provenance, std::string fallback_file)
      : provenance_(provenance), fallback_file_(std::move(fallback_file)) {}
  void add(const std::string& pointer, std::string message);
  bool empty() const { return problems_.empty(); }
  std::vector<ConfigProblem> take() { return std::move(problems_); }

 private:
  const Provenance& provenance_;
  std::string fallback_file_;
  std::vector<ConfigProblem> problems_;
};

// Bounds of a number setting; the lower bound is exclusive when `min_exclusive`.
struct NumberRange {
  double min;
  bool min_exclusive;
  double max;
};

// Typed access to the members of one JSON object of the merged document. Each read_*
// leaves `out` untouched when the key is absent (the default stays) or when the value is
// wrong, in which case it reports a problem and returns false.
class ObjectReader {
 public:
  ObjectReader(const Json& object, std::string pointer, ProblemSink& sink)
      : object_(object), pointer_(std::move(pointer)), sink_(sink) {}

  // Reports each key not in `known`, suggesting the closest known one.
  void reject_unknown_keys(const std::vector<std::string_view>& known) const;
  const Json* find(std::string_view key) const;
  std::string pointer(std::string_view key) const { return child_pointer(pointer_, key); }
  const std::string& pointer() const { return pointer_; }
  ProblemSink& sink() const { return sink_; }

  bool read_bool(std::string_view key, bool& out) const;
  bool read_seconds(std::string_view key, double& out, const NumberRange& range) const;
  bool read_integer(std::string_view key, std::int64_t& out, std::int64_t min,
                    std::int64_t max) const;
  bool read_string(std::string_view key, std::string& out) const;
  // The index in `names` of the string at `key`; nullopt when absent or not a name.
  std::optional<std::size_t> read_choice(std::string_view key,
                                         const std::vector<std::string_view>& names) const;

 private:
  const Json& object_;
  std::string pointer_;
  ProblemSink& sink_;
};

// `value` with up to 15 significant digits and no trailing zeros: "5", "0.1".
std::string format_number(double value);

// "must be a boolean, got string" and friends.
std::string type_error(std::string_view expected, const Json& got);

// The problem of a file of `bytes` bytes, over kMaxConfigFileBytes.
std::string too_large(std::uint64_t bytes);

// Reads an "mlock" object at `pointer` into `flags`.
void read_mlock_flags(const Json& value, const std::string& pointer, ProblemSink& sink,
                      mlock::MlockConfig& flags);

// The names of all children in the merged document.
using ChildNames = std::vector<std::string_view>;

// Validates one child definition at `pointer`; fills `child` (whose name is already set).
// Entries of its "after" list must be among `names`.
void read_child(const Json& value, const std::string& pointer, const ChildNames& names,
                ProblemSink& sink, ChildSpec& child);

// Reads the child's "swap" object, when there is one (config/swap_spec.cpp).
void read_swap(const ObjectReader& reader, ChildSpec& child);

// Two children cannot back one swap device (checked once every child is read).
void check_swap_devices(const Config& config, const std::string& children_pointer,
                        ProblemSink& sink);

// Resolves the "user" and "group" members of a child object into its credentials.
void read_identity(const ObjectReader& reader, ChildSpec& child);

// Fills config.start_order from the (already checked) `after` lists; reports cycles.
void order_children(Config& config, ProblemSink& sink);

// Validates the merged document into a Config; problems go to `sink`.
Config read_config(const Json& document, ProblemSink& sink);

}  // namespace duende::supervisor::config_detail
