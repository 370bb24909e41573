// IEEE float16 and bfloat16 conversions (round to nearest even), used by cast and tensor readers.
#pragma once
#include <cstdint>

namespace onnxquant {

uint16_t float_to_half(float f);
float half_to_float(uint16_t h);
uint16_t float_to_bfloat16(float f);
float bfloat16_to_float(uint16_t b);

}  // namespace onnxquant
