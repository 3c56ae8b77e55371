// Parsing the configuration texts, merging them, and handing the result to validation.
#include "config/config.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "api/text_escape.hpp"
#include "config/config_internal.hpp"

namespace duende::supervisor {
namespace {

using config_detail::Json;

// Builds the document as nlohmann's own DOM parser does (SAX events in, a Json out), and
// refuses, before anything deeper is built, nesting beyond kMaxConfigDepth and a key
// that appears twice in one object (where the first value would be silently lost). The
// parser itself keeps its state on the heap, so no input can run the stack out.
class CheckedDocumentBuilder {
 public:
  using number_integer_t = Json::number_integer_t;
  using number_unsigned_t = Json::number_unsigned_t;
  using number_float_t = Json::number_float_t;
  using string_t = Json::string_t;
  using binary_t = Json::binary_t;

  explicit CheckedDocumentBuilder(Json& out) : dom_(out, false) {}

  bool null() { return value() && dom_.null(); }
  bool boolean(bool v) { return value() && dom_.boolean(v); }
  bool number_integer(number_integer_t v) { return value() && dom_.number_integer(v); }
  bool number_unsigned(number_unsigned_t v) { return value() && dom_.number_unsigned(v); }
  bool number_float(number_float_t v, const string_t& s) {
    return value() && dom_.number_float(v, s);
  }
  bool string(string_t& v) { return value() && dom_.string(v); }
  bool binary(binary_t& v) { return value() && dom_.binary(v); }
  bool start_object(std::size_t n) { return enter(true) && dom_.start_object(n); }
  bool end_object() { return leave() && dom_.end_object(); }
  bool start_array(std::size_t n) { return enter(false) && dom_.start_array(n); }
  bool end_array() { return leave() && dom_.end_array(); }
  bool key(string_t& k) {
    Frame& f = frames_.back();
    f.key = k;
    if (!f.keys.insert(k).second)
      return refuse(pointer(), "duplicate key \"" + k + "\": the first value would be lost");
    return dom_.key(k);
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    if (const auto* p = dynamic_cast<const Json::parse_error*>(&e)) {
      syntax_byte_ = p->byte;
      syntax_what_ = p->what();
    } else {
      syntax_what_ = e.what();
    }
    return false;
  }

  // Set when a check refused the document: where (a JSON pointer) and why.
  const std::optional<std::pair<std::string, std::string>>& refused() const { return refused_; }
  // Set on a syntax error: the byte (1-based, 0 unknown) and nlohmann's message.
  std::size_t syntax_byte() const { return syntax_byte_; }
  const std::string& syntax_what() const { return syntax_what_; }

 private:
  struct Frame {
    bool object;
    std::set<std::string> keys;  // objects: the keys seen so far
    std::string key;             // objects: the current key
    std::size_t index = 0;       // arrays: the next element's index
    bool started = false;        // arrays: an element was seen
  };

  // A value (or a nested container) at the current place: advances the array index.
  bool value() {
    if (!frames_.empty() && !frames_.back().object) {
      Frame& f = frames_.back();
      if (f.started) ++f.index;
      f.started = true;
    }
    return true;
  }
  bool enter(bool object) {
    value();
    if (frames_.size() >= kMaxConfigDepth)
      return refuse(pointer(), "nested deeper than " + std::to_string(kMaxConfigDepth) +
                                   " levels (the limit for a configuration file)");
    frames_.push_back(Frame{object, {}, {}, 0, false});
    return true;
  }
  bool leave() {
    frames_.pop_back();
    return true;
  }
  // The JSON pointer of the current place, e.g. "/children/a/exec/0".
  std::string pointer() const {
    std::string out;
    for (const Frame& f : frames_) {
      if (f.object && f.key.empty() && f.keys.empty()) continue;  // no key yet
      out += '/';
      if (f.object) {
        for (char c : f.key) out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
      } else {
        out += std::to_string(f.index);
      }
    }
    return out;
  }
  bool refuse(std::string where, std::string why) {
    refused_ = std::make_pair(std::move(where), std::move(why));
    return false;
  }

  nlohmann::detail::json_sax_dom_parser<Json> dom_;
  std::vector<Frame> frames_;
  std::optional<std::pair<std::string, std::string>> refused_;
  std::size_t syntax_byte_ = 0;
  std::string syntax_what_;
};

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
  if (text.size() > kMaxConfigFileBytes) {
    problems.push_back({file, "", config_detail::too_large(text.size())});
    return std::nullopt;
  }
  Json document;
  CheckedDocumentBuilder builder(document);
  bool ok = false;
  try {
    ok = Json::sax_parse(text, &builder);
  } catch (const Json::exception& e) {  // not expected from a SAX parse, but not fatal
    problems.push_back({file, "", e.what()});
    return std::nullopt;
  }
  if (builder.refused()) {
    problems.push_back({file, builder.refused()->first, builder.refused()->second});
    return std::nullopt;
  }
  if (!ok) {
    // The 1-based offset of the last byte read: the one that broke the syntax.
    const std::size_t byte = builder.syntax_byte();
    problems.push_back(
        {file, line_column(text, byte == 0 ? 0 : byte - 1), syntax_message(builder.syntax_what())});
    return std::nullopt;
  }
  if (!document.is_object()) {
    problems.push_back({file, "", config_detail::type_error("a JSON object", document)});
    return std::nullopt;
  }
  return document;
}

}  // namespace

std::string config_detail::too_large(std::uint64_t bytes) {
  return "too large: " + std::to_string(bytes) + " bytes; a configuration file may have at most " +
         std::to_string(kMaxConfigFileBytes) + " (1 MiB)";
}

// Escaped: file names, pointers and messages may quote any byte of the input.
std::string ConfigProblem::to_string() const {
  if (where.empty()) return escape_control(file + ": " + message);
  return escape_control(file + ": " + where + ": " + message);
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
