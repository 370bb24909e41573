#include "quant/quant_params.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/errors.h"

namespace onnxquant {

const char* target_name(QuantTarget t) {
  switch (t) {
    case QuantTarget::UInt8Asymmetric: return "uint8_asymmetric";
    case QuantTarget::Int8Symmetric: return "int8_symmetric";
  }
  return "unknown";
}

std::optional<QuantTarget> parse_target(std::string_view name) {
  if (name == "uint8_asymmetric") return QuantTarget::UInt8Asymmetric;
  if (name == "int8_symmetric") return QuantTarget::Int8Symmetric;
  return std::nullopt;
}

static std::string range_string(Range r) { return "[" + std::to_string(r.min) + ", " + std::to_string(r.max) + "]"; }

QuantParams compute_qparams(Range range, QuantTarget target) {
  if (!std::isfinite(range.min) || !std::isfinite(range.max) || range.min > 0.0 || range.max < 0.0)
    throw InternalError("compute_qparams: range " + range_string(range) + " must be finite and contain 0");
  if (target == QuantTarget::Int8Symmetric) return weight_qparams(std::max(-range.min, range.max));

  QuantParams p{1.0, 0, 0, 255};
  const double scale = (range.max - range.min) / 255.0;
  if (scale < kMinScale) return p;
  p.scale = scale;
  // min <= 0 <= max keeps -min/scale in [0, 255]; the clamp only guards the last ulp.
  p.zero_point = static_cast<int32_t>(std::clamp(std::nearbyint(-range.min / scale), 0.0, 255.0));
  return p;
}

QuantParams weight_qparams(double max_abs) {
  if (!std::isfinite(max_abs) || max_abs < 0.0)
    throw InternalError("weight_qparams: magnitude " + std::to_string(max_abs) + " must be finite and >= 0");
  QuantParams p{1.0, 0, -127, 127};
  const double scale = max_abs / 127.0;
  if (scale >= kMinScale) p.scale = scale;
  return p;
}

int32_t quantize_value(double x, const QuantParams& p) {
  // NaN maps to the zero point rather than to an arbitrary int (the cast would be UB).
  if (std::isnan(x)) return p.zero_point;
  const double q = std::nearbyint(x / p.scale) + p.zero_point;
  return static_cast<int32_t>(std::clamp(q, static_cast<double>(p.qmin), static_cast<double>(p.qmax)));
}

double dequantize_value(int32_t q, const QuantParams& p) { return static_cast<double>(q - p.zero_point) * p.scale; }

std::vector<int32_t> quantize(std::span<const float> values, const QuantParams& p) {
  std::vector<int32_t> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) out[i] = quantize_value(values[i], p);
  return out;
}

std::vector<float> dequantize(std::span<const int32_t> values, const QuantParams& p) {
  std::vector<float> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) out[i] = static_cast<float>(dequantize_value(values[i], p));
  return out;
}

std::vector<float> fake_quantize(std::span<const float> values, const QuantParams& p) {
  std::vector<float> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) out[i] = static_cast<float>(dequantize_value(quantize_value(values[i], p), p));
  return out;
}

}  // namespace onnxquant
