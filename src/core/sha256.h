// SHA-256 (FIPS 180-4), written here to avoid a crypto dependency for one use: tying a ranges file to
// the model it was computed on. Streams, so multi-GB model files hash in constant memory.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace onnxquant {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Finishes the hash; the object must not be updated afterwards.
  std::array<uint8_t, 32> digest();
  std::string hex_digest();  // 64 lowercase hex digits

 private:
  void compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t length_ = 0;  // bytes hashed so far
};

std::string sha256_hex(std::string_view data);
// Hashes a file's bytes; throws LoadError naming the file when it cannot be read.
std::string sha256_file_hex(const std::filesystem::path& path);
bool is_sha256_hex(std::string_view s);  // 64 lowercase hex digits

}  // namespace onnxquant
