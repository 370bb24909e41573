// A whole file as bytes (empty when it cannot be read): for tests that compare written files exactly.
#pragma once
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace onnxquant::test {

inline std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace onnxquant::test
