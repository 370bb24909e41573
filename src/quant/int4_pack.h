// 4-bit storage. ONNX INT4/UINT4 tensors (opset 21) hold two elements per byte in raw_data, the first
// element in the low nibble, the last byte padded with 0 when the count is odd. ORT's MatMulNBits keeps
// B as [N, blocks, block_size / 2] bytes of unsigned 4-bit values, low nibble first, likewise.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace onnxquant {

// Values must lie in [-8, 7] (signed) or [0, 15] (unsigned); the nibble is the two's-complement low 4 bits.
std::string pack_int4(std::span<const int8_t> values);
// Inverse of pack_int4 for `count` elements; `is_signed` sign-extends the nibbles.
std::vector<int8_t> unpack_int4(const std::string& bytes, size_t count, bool is_signed);

}  // namespace onnxquant
