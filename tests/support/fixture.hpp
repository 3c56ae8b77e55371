// Reads test fixture files from tests/data.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace duende::test {

inline std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(DUENDE_TEST_DATA_DIR) + "/" + name, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + name);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace duende::test
