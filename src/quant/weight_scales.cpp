#include "quant/weight_scales.h"

#include <algorithm>
#include <cmath>

#include "quant/quant_params.h"

namespace onnxquant {

namespace {

double scale_for(double max_abs, int32_t qmax) { return max_abs > 0 && qmax != 127 ? max_abs / qmax : weight_qparams(max_abs).scale; }

}  // namespace

std::vector<double> symmetric_weight_scales(const Tensor& w, int64_t axis, Granularity granularity, int32_t qmax) {
  const auto v = w.as<float>();
  if (granularity == Granularity::PerTensor) {
    double m = 0;
    for (float x : v) m = std::max(m, std::fabs(static_cast<double>(x)));
    return {scale_for(m, qmax)};
  }
  const int64_t channels = w.shape[axis];
  int64_t inner = 1;
  for (size_t d = axis + 1; d < w.shape.size(); ++d) inner *= w.shape[d];
  std::vector<double> m(channels, 0.0);
  for (size_t idx = 0; idx < v.size(); ++idx) {
    const int64_t c = (static_cast<int64_t>(idx) / inner) % channels;
    m[c] = std::max(m[c], std::fabs(static_cast<double>(v[idx])));
  }
  std::vector<double> s;
  for (double x : m) s.push_back(scale_for(x, qmax));
  return s;
}

int raise_scales_for_int32_bias(std::vector<double>& scales, const Tensor& bias, double input_scale) {
  if (!(input_scale > 0)) return 0;
  constexpr double kBiasHeadroom = 1073741824.0;  // 2^30
  int raised = 0;
  const auto bv = bias.as<float>();
  for (size_t c = 0; c < bv.size(); ++c) {
    double& s = scales[scales.size() == 1 ? 0 : c];
    const double floor = std::fabs(static_cast<double>(bv[c])) / (input_scale * kBiasHeadroom);
    if (s < floor) {
      s = floor;
      ++raised;
    }
  }
  return raised;
}

}  // namespace onnxquant
