// Scale / zero-point math shared by calibration (MSE range search), planners and passes. Everything is
// computed in double and only narrowed to float when written into a model, so the same range always gives
// the same parameters whichever code path asks.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace onnxquant {

// The integer grid a tensor is quantized to. Activations default to uint8 asymmetric (DESIGN.md);
// int8 symmetric is the option for activations and the rule for weights.
enum class QuantTarget {
  UInt8Asymmetric,  // q in [0, 255], zero point chosen so that 0.0 is exact
  Int8Symmetric,    // q in [-127, 127], zero point 0
};

const char* target_name(QuantTarget t);  // "uint8_asymmetric", "int8_symmetric"
std::optional<QuantTarget> parse_target(std::string_view name);

// A real-valued range [min, max]. Calibration always returns ranges with min <= 0 <= max so that 0.0
// (padding, ReLU zeros) is represented exactly.
struct Range {
  double min = 0.0;
  double max = 0.0;
  bool operator==(const Range&) const = default;
};

struct QuantParams {
  double scale = 1.0;
  int32_t zero_point = 0;
  int32_t qmin = 0;
  int32_t qmax = 255;
  bool operator==(const QuantParams&) const = default;
};

// The smallest scale we emit. A range narrower than this (an all-zero tensor: [0, 0]) gets scale 1 and
// zero point 0 instead: every scale represents 0 exactly, and 1 keeps the model free of denormal scales
// that ORT would turn into inf on division. Same rule as ORT's Python quantizer.
inline constexpr double kMinScale = 1.1754943508222875e-38;  // FLT_MIN: smallest normal float

// uint8 asymmetric: scale = (max - min) / 255, zero_point = round_half_even(-min / scale) in [0, 255].
// int8 symmetric:   scale = max(|min|, |max|) / 127, zero_point = 0, q in [-127, 127].
// Throws InternalError unless min <= 0 <= max and both are finite (callers validate user input first).
QuantParams compute_qparams(Range range, QuantTarget target);

// Weights: symmetric int8 over [-127, 127] from the largest magnitude (per tensor or per channel).
QuantParams weight_qparams(double max_abs);

// Round half to even (std::nearbyint in the default rounding mode), then clamp to [qmin, qmax]: the
// same as ONNX QuantizeLinear.
int32_t quantize_value(double x, const QuantParams& p);
double dequantize_value(int32_t q, const QuantParams& p);

std::vector<int32_t> quantize(std::span<const float> values, const QuantParams& p);
std::vector<float> dequantize(std::span<const int32_t> values, const QuantParams& p);
// quantize then dequantize: what the model computes in place of `values`.
std::vector<float> fake_quantize(std::span<const float> values, const QuantParams& p);

}  // namespace onnxquant
