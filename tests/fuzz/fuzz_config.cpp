// Fuzzes the configuration loader's pure core, config_from_documents(): JSON parsing, the
// merge patches of the drop-ins, and validation.
//
// Input: up to 4 documents separated by NUL bytes (a NUL cannot occur in a valid JSON text,
// so nothing is lost), named main.json, 10-a.json, 20-b.json, 30-c.json in that order; the
// last one takes whatever follows the third NUL.
//
// Invariants beyond "no crash, no exception":
//  - a failure lists problems, each blamed on one of the input files, located by "" (the
//    whole file), "LINE:COL" (syntax) or a JSON pointer ("/children/...");
//  - a success holds what validation promises: absolute exec[0], values in range, onfault
//    only with current or future, a start order that is a permutation honouring "after";
//  - merge patches are idempotent (RFC 7386): applying the last document twice gives the
//    same Config.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "fuzz_check.hpp"

namespace {

using duende::supervisor::ChildSpec;
using duende::supervisor::Config;
using duende::supervisor::ConfigProblem;
using Documents = std::vector<std::pair<std::string, std::string>>;

constexpr std::size_t kMaxDocuments = 4;
constexpr const char* kNames[kMaxDocuments] = {"main.json", "10-a.json", "20-b.json", "30-c.json"};

Documents split_documents(std::string_view input) {
  Documents docs;
  while (docs.size() + 1 < kMaxDocuments) {
    const auto nul = input.find('\0');
    if (nul == std::string_view::npos) break;
    docs.emplace_back(kNames[docs.size()], std::string(input.substr(0, nul)));
    input.remove_prefix(nul + 1);
  }
  docs.emplace_back(kNames[docs.size()], std::string(input));
  return docs;
}

bool is_line_column(std::string_view where) {
  const auto colon = where.find(':');
  if (colon == 0 || colon == std::string_view::npos || colon + 1 == where.size()) return false;
  return std::all_of(where.begin(), where.end(),
                     [](char c) { return c == ':' || (c >= '0' && c <= '9'); });
}

void check_problem(const ConfigProblem& problem, const Documents& docs) {
  DUENDE_FUZZ_CHECK(std::any_of(docs.begin(), docs.end(),
                                [&](const auto& doc) { return doc.first == problem.file; }));
  DUENDE_FUZZ_CHECK(problem.where.empty() || problem.where.front() == '/' ||
                    is_line_column(problem.where));
  DUENDE_FUZZ_CHECK(!problem.message.empty());
}

void check_mlock_flags(const duende::mlock::MlockConfig& flags) {
  DUENDE_FUZZ_CHECK(!flags.onfault() || flags.current() || flags.future());
}

void check_child(const std::string& name, const ChildSpec& child, const Config& config) {
  DUENDE_FUZZ_CHECK(child.name == name);
  DUENDE_FUZZ_CHECK(!child.exec.empty() && child.exec.front().starts_with('/'));
  for (const std::string& arg : child.exec) DUENDE_FUZZ_CHECK(arg.find('\0') == std::string::npos);
  DUENDE_FUZZ_CHECK(child.working_directory.starts_with('/'));
  DUENDE_FUZZ_CHECK(child.oom_score_adj >= -1000 && child.oom_score_adj <= 1000);
  DUENDE_FUZZ_CHECK(child.start_timeout_sec > 0 && child.start_timeout_sec <= 3600);
  DUENDE_FUZZ_CHECK(child.restart_sec >= 0 && child.restart_max_sec >= child.restart_sec);
  DUENDE_FUZZ_CHECK(child.start_limit_burst >= 1 && child.start_limit_interval_sec > 0);
  DUENDE_FUZZ_CHECK(child.stop_signal >= 1 && child.stop_signal <= 64);
  DUENDE_FUZZ_CHECK(child.stop_timeout_sec > 0);
  // A user without a group is refused; a group always comes with its supplementary list.
  DUENDE_FUZZ_CHECK(!child.uid || child.gid);
  DUENDE_FUZZ_CHECK(!child.gid || !child.supplementary_groups.empty());
  check_mlock_flags(child.mlock);
  for (const std::string& other : child.after) {
    DUENDE_FUZZ_CHECK(other != name && config.children.contains(other));
  }
}

void check_config(const Config& config) {
  check_mlock_flags(config.self_mlock);
  DUENDE_FUZZ_CHECK(config.monitor_interval_sec >= 0.05 && config.monitor_interval_sec <= 3600);
  DUENDE_FUZZ_CHECK(config.full_check_interval_sec >= 0.05 &&
                    config.full_check_interval_sec <= 86400);
  for (const auto& [name, child] : config.children) check_child(name, child, config);
  // The start order: every child once, each after everything in its "after" list.
  DUENDE_FUZZ_CHECK(config.start_order.size() == config.children.size());
  std::set<std::string> started;
  for (const std::string& name : config.start_order) {
    DUENDE_FUZZ_CHECK(config.children.contains(name) && !started.contains(name));
    for (const std::string& other : config.children.at(name).after) {
      DUENDE_FUZZ_CHECK(started.contains(other));
    }
    started.insert(name);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  duende::fuzz::run_without_exceptions([&] {
    Documents docs = split_documents(std::string_view(reinterpret_cast<const char*>(data), size));
    const auto result = duende::supervisor::config_from_documents(docs);
    if (!result) {
      DUENDE_FUZZ_CHECK(!result.error().empty());
      for (const ConfigProblem& problem : result.error()) check_problem(problem, docs);
      return;
    }
    check_config(*result);
    docs.push_back(docs.back());
    const auto again = duende::supervisor::config_from_documents(docs);
    DUENDE_FUZZ_CHECK(again.has_value() && *again == *result);
  });
  return 0;
}
