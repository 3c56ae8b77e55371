// Parsing the configuration texts, merging them, and handing the result to validation.
#include "config/config.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "config/config_internal.hpp"

namespace duende::supervisor {
namespace {

using config_detail::Json;

// "LINE:COL" of byte offset `offset` in `text`: 1-based, COL counting UTF-8 characters.
std::string line_column(std::string_view text, std::size_t offset) {
  const std::string_view before = text.substr(0, std::min(offset, text.size()));
  const std::size_t newline = before.rfind('\n');
  const std::size_t line_start = newline == std::string_view::npos ? 0 : newline + 1;
  const auto line = 1 + std::count(before.begin(), before.end(), '\n');
  // Continuation bytes (10xxxxxx) do not start a character.
  const auto column = 1 + std::count_if(before.begin() + line_start, before.end(),
                                        [](char c) { return (c & 0xC0) != 0x80; });
  return std::to_string(line) + ":" + std::to_string(column);
}

// nlohmann's message without its "[json.exception...] parse error at line L, column C: "
// prefix (we give our own position) and without the "last read" echo of raw input.
std::string syntax_message(const std::string& what) {
  std::string message = what;
  if (auto column = message.find(", column "); column != std::string::npos) {
    if (auto colon = message.find(": ", column); colon != std::string::npos) {
      message.erase(0, colon + 2);
    }
  }
  if (auto echo = message.find("; last read: '"); echo != std::string::npos) {
    auto end = message.find("'; expected", echo);
    message.erase(echo, end == std::string::npos ? std::string::npos : end + 1 - echo);
  }
  return message;
}

// Parses one file; on failure appends a problem and returns nullopt.
std::optional<Json> parse_document(const std::string& file, const std::string& text,
                                   std::vector<ConfigProblem>& problems) {
  try {
    Json document = Json::parse(text);
    if (!document.is_object()) {
      problems.push_back({file, "", config_detail::type_error("a JSON object", document)});
      return std::nullopt;
    }
    return document;
  } catch (const Json::parse_error& e) {
    // e.byte is the 1-based offset of the last byte read: the one that broke the syntax.
    const std::size_t offset = e.byte == 0 ? 0 : e.byte - 1;
    problems.push_back({file, line_column(text, offset), syntax_message(e.what())});
    return std::nullopt;
  } catch (const Json::exception& e) {  // not expected from parse(), but not fatal either
    problems.push_back({file, "", e.what()});
    return std::nullopt;
  }
}

}  // namespace

std::string ConfigProblem::to_string() const {
  if (where.empty()) return file + ": " + message;
  return file + ": " + where + ": " + message;
}

ConfigResult config_from_documents(const std::vector<std::pair<std::string, std::string>>& docs) {
  std::vector<ConfigProblem> problems;
  config_detail::Provenance provenance;
  Json merged = Json::object();
  for (const auto& [file, text] : docs) {
    if (auto patch = parse_document(file, text, problems)) {
      config_detail::merge_patch(merged, *patch, "", file, provenance);
    }
  }
  config_detail::ProblemSink sink(provenance, docs.empty() ? std::string() : docs.front().first);
  Config config = config_detail::read_config(merged, sink);
  std::vector<ConfigProblem> validation = sink.take();
  problems.insert(problems.end(), std::make_move_iterator(validation.begin()),
                  std::make_move_iterator(validation.end()));
  if (!problems.empty()) return duende::mlock::Unexpected(std::move(problems));
  return config;
}

}  // namespace duende::supervisor
