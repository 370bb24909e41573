#include "quant/int4_pack.h"

#include "core/errors.h"

namespace onnxquant {

std::string pack_int4(std::span<const int8_t> values) {
  std::string out((values.size() + 1) / 2, '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] < -8 || values[i] > 15) throw InternalError("pack_int4: value " + std::to_string(values[i]) + " does not fit 4 bits");
    const auto nibble = static_cast<uint8_t>(values[i] & 0x0F);
    auto& byte = reinterpret_cast<uint8_t&>(out[i / 2]);
    byte = static_cast<uint8_t>(i % 2 == 0 ? (byte & 0xF0) | nibble : (byte & 0x0F) | (nibble << 4));
  }
  return out;
}

std::vector<int8_t> unpack_int4(const std::string& bytes, size_t count, bool is_signed) {
  if (bytes.size() < (count + 1) / 2) throw DataError("4-bit tensor has " + std::to_string(bytes.size()) + " bytes for " + std::to_string(count) + " elements");
  std::vector<int8_t> out(count);
  for (size_t i = 0; i < count; ++i) {
    const auto byte = static_cast<uint8_t>(bytes[i / 2]);
    int v = i % 2 == 0 ? (byte & 0x0F) : (byte >> 4);
    if (is_signed && v >= 8) v -= 16;
    out[i] = static_cast<int8_t>(v);
  }
  return out;
}

}  // namespace onnxquant
