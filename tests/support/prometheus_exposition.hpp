// A validator for the Prometheus text exposition format (version 0.0.4), as
// node_exporter's textfile collector reads it, for `mlockctl metrics` (integration) and
// format_metrics() (unit). Header-only: both test programs include it.
//
// It checks, line by line:
//   - every line ends with '\n' (the last one too); no '\r';
//   - "# HELP name text" and "# TYPE name type" name a valid metric name; HELP text uses
//     only the escapes \\ and \n; TYPE is gauge or counter (all this project emits); each
//     at most once per family, and both before the family's first sample;
//   - a sample is `name{label="value",...} number` (labels optional), names and label
//     names valid, label values quoted with only \\, \" and \n escapes, no label twice;
//     the value a float (or NaN, +Inf, -Inf); an optional integer timestamp;
//   - every sample belongs to a family announced by TYPE, the samples of a family are
//     contiguous, and no series (name + label set) appears twice.
#pragma once

#include <cctype>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace duende::itest {

struct MetricSample {
  std::string name;
  std::map<std::string, std::string> labels;  // unescaped values
  double value = 0;
};

struct Exposition {
  std::vector<MetricSample> samples;
  std::map<std::string, std::string> help;  // by family
  std::map<std::string, std::string> type;  // by family
  std::vector<std::string> errors;          // "line N: what"; empty when valid

  // The value of the one sample `name` with exactly `labels`; NaN when there is none.
  double value(const std::string& name,
               const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& s : samples)
      if (s.name == name && s.labels == labels) return s.value;
    return std::numeric_limits<double>::quiet_NaN();
  }
  // How many samples the family `name` has.
  std::size_t count(const std::string& name) const {
    std::size_t n = 0;
    for (const auto& s : samples) n += s.name == name;
    return n;
  }
};

namespace exposition_detail {

inline bool metric_name(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_' || s[0] == ':'))
    return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':')) return false;
  return true;
}

inline bool label_name(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return s.rfind("__", 0) != 0;  // reserved for Prometheus itself
}

inline bool float_value(const std::string& s, double& out) {
  if (s == "NaN" || s == "+Inf" || s == "-Inf" || s == "Inf") {
    out = s == "NaN" ? std::numeric_limits<double>::quiet_NaN()
                     : (s[0] == '-' ? -1 : 1) * std::numeric_limits<double>::infinity();
    return true;
  }
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+' ||
          c == 'e' || c == 'E'))
      return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

}  // namespace exposition_detail

inline Exposition parse_exposition(const std::string& text) {
  using namespace exposition_detail;
  Exposition e;
  const auto error = [&](std::size_t line, const std::string& what) {
    e.errors.push_back("line " + std::to_string(line) + ": " + what);
  };
  if (!text.empty() && text.back() != '\n') error(0, "the last line does not end with a newline");
  std::set<std::string> finished;  // families whose samples are over
  std::string current;             // family of the previous sample
  std::set<std::string> series;
  std::istringstream in(text);
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (line.find('\r') != std::string::npos) error(n, "carriage return");
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream fields(line);
      std::string hash, keyword, name;
      fields >> hash >> keyword >> name;
      if (hash != "#" || (keyword != "HELP" && keyword != "TYPE")) continue;  // a comment
      if (!metric_name(name)) error(n, "bad metric name \"" + name + "\"");
      std::string rest;
      std::getline(fields, rest);
      if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
      if (e.count(name) > 0) error(n, keyword + " for " + name + " after its samples");
      if (keyword == "HELP") {
        if (e.help.count(name)) error(n, "second HELP for " + name);
        for (std::size_t i = 0; i < rest.size(); ++i)
          if (rest[i] == '\\' &&
              (i + 1 >= rest.size() || (rest[i + 1] != '\\' && rest[i + 1] != 'n')))
            error(n, "bad escape in HELP text");
          else if (rest[i] == '\\')
            ++i;
        e.help[name] = rest;
      } else {
        if (e.type.count(name)) error(n, "second TYPE for " + name);
        if (rest != "gauge" && rest != "counter") error(n, "TYPE \"" + rest + "\" for " + name);
        e.type[name] = rest;
      }
      continue;
    }
    // A sample: name, labels, value, timestamp.
    MetricSample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (!metric_name(s.name)) error(n, "bad metric name \"" + s.name + "\"");
    std::string label_key;  // sorted "k=v," text for duplicate detection
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::size_t eq = line.find('=', i);
        if (eq == std::string::npos) {
          error(n, "label without '='");
          break;
        }
        const std::string key = line.substr(i, eq - i);
        if (!label_name(key)) error(n, "bad label name \"" + key + "\"");
        if (eq + 1 >= line.size() || line[eq + 1] != '"') {
          error(n, "unquoted label value");
          break;
        }
        std::string value;
        std::size_t j = eq + 2;
        bool closed = false;
        for (; j < line.size(); ++j) {
          if (line[j] == '\\') {
            if (j + 1 < line.size() && (line[j + 1] == '\\' || line[j + 1] == '"'))
              value += line[++j];
            else if (j + 1 < line.size() && line[j + 1] == 'n')
              value += '\n', ++j;
            else
              error(n, "bad escape in a label value");
          } else if (line[j] == '"') {
            closed = true;
            break;
          } else {
            value += line[j];
          }
        }
        if (!closed) {
          error(n, "unterminated label value");
          break;
        }
        if (s.labels.count(key)) error(n, "label " + key + " twice");
        s.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',')
          ++i;
        else if (i < line.size() && line[i] != '}')
          error(n, "expected ',' or '}' after a label");
      }
      if (i >= line.size()) {
        error(n, "unterminated label set");
        continue;
      }
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') {
      error(n, "no space before the value");
      continue;
    }
    std::istringstream rest(line.substr(i + 1));
    std::string value, timestamp, extra;
    rest >> value >> timestamp >> extra;
    if (!float_value(value, s.value)) error(n, "bad value \"" + value + "\"");
    if (!timestamp.empty() && timestamp.find_first_not_of("-0123456789") != std::string::npos)
      error(n, "bad timestamp \"" + timestamp + "\"");
    if (!extra.empty()) error(n, "trailing text \"" + extra + "\"");
    if (!e.type.count(s.name)) error(n, s.name + " has no TYPE before its samples");
    if (!e.help.count(s.name)) error(n, s.name + " has no HELP before its samples");
    if (s.name != current) {
      if (finished.count(s.name)) error(n, "samples of " + s.name + " are not contiguous");
      if (!current.empty()) finished.insert(current);
      current = s.name;
    }
    for (const auto& [k, v] : s.labels) label_key += k + "=" + v + "\x1f";
    if (!series.insert(s.name + "{" + label_key + "}").second)
      error(n, "duplicate series " + s.name + "{" + label_key + "}");
    e.samples.push_back(std::move(s));
  }
  return e;
}

}  // namespace duende::itest
