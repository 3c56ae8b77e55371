// Readable names for value-parameterized tests: the case's text with everything but
// letters and digits turned into '_', plus the index so names stay unique.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <string>

namespace duende::test {

inline std::string param_name(std::string text, std::size_t index) {
  for (char& c : text)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return std::to_string(index) + "_" + text.substr(0, 40);
}

// For parameters that are strings.
struct StringParamName {
  template <class T>
  std::string operator()(const testing::TestParamInfo<T>& info) const {
    return param_name(info.param, info.index);
  }
};

}  // namespace duende::test
