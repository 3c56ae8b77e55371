// RFC 7386 merge patch with provenance: which file set each value of the merged document.
#include <string>
#include <string_view>

#include "config/config_internal.hpp"

namespace duende::supervisor::config_detail {

std::string child_pointer(const std::string& pointer, std::string_view token) {
  std::string result = pointer + "/";
  for (char c : token) {
    if (c == '~') {
      result += "~0";
    } else if (c == '/') {
      result += "~1";
    } else {
      result += c;
    }
  }
  return result;
}

void Provenance::set(const std::string& pointer, const std::string& file) {
  const std::string prefix = pointer + "/";
  auto it = file_by_pointer_.lower_bound(prefix);
  while (it != file_by_pointer_.end() && it->first.starts_with(prefix)) {
    it = file_by_pointer_.erase(it);
  }
  file_by_pointer_[pointer] = file;
}

std::string Provenance::file_for(std::string_view pointer, const std::string& fallback) const {
  while (true) {
    if (auto it = file_by_pointer_.find(pointer); it != file_by_pointer_.end()) {
      return it->second;
    }
    if (pointer.empty()) return fallback;
    pointer = pointer.substr(0, pointer.rfind('/'));
  }
}

void merge_patch(Json& target, const Json& patch, const std::string& pointer,
                 const std::string& file, Provenance& provenance) {
  if (!patch.is_object()) {
    target = patch;
    provenance.set(pointer, file);
    return;
  }
  if (!target.is_object()) {
    target = Json::object();
    provenance.set(pointer, file);
  }
  for (const auto& [key, value] : patch.items()) {
    const std::string member = child_pointer(pointer, key);
    if (value.is_null()) {
      target.erase(key);
      provenance.set(member, file);  // blame the removal on this file
    } else {
      merge_patch(target[key], value, member, file, provenance);
    }
  }
}

void ProblemSink::add(const std::string& pointer, std::string message) {
  problems_.push_back({provenance_.file_for(pointer, fallback_file_), pointer, std::move(message)});
}

}  // namespace duende::supervisor::config_detail
