// Symmetric weight scales: per tensor or per output channel, on the plan's integer grid ([-127, 127], or
// [-64, 63] with reduce range), and the int32-bias guard that raises the scale of a near-zero channel.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "quant/quant_plan.h"

namespace onnxquant {

// max|w| / qmax over the whole tensor (PerTensor) or over each slice along `axis` (PerChannel). An
// all-zero slice gets weight_qparams' scale for 0 (1.0).
std::vector<double> symmetric_weight_scales(const Tensor& w, int64_t axis, Granularity granularity, int32_t qmax);

// A channel whose weights are (almost) all zero gets a tiny scale, and its bias / (s_in * s_w[c]) then
// overflows int32 (PP-OCRv4 det has such a channel): such scales are raised until |b_q| <= 2^30. The
// channel's weights round to 0 either way, so nothing is lost, and ORT can fuse the node (it fuses only
// with an int32 bias). Returns how many scales were raised. `scales` has one entry or one per bias value.
int raise_scales_for_int32_bias(std::vector<double>& scales, const Tensor& bias, double input_scale);

}  // namespace onnxquant
