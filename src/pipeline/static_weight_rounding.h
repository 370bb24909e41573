// GPTQ rounding for the weights of a static INT8 plan: each quantized Conv/Gemm/MatMul weight is rounded
// onto the plan's own grid (same per-channel scales, [-127, 127]) so that the layer's output error on
// calibration data, ||X (W - Q)||, is minimised instead of the weight error (quant/gptq.h). X are the
// layer's inputs in the FP32 model (pipeline/layer_hessians.h). The result goes into the rewrite through
// rewrite/use_rounded_weights.h; scales, zero points and the model's structure are exactly those of
// round-to-nearest, so ORT fuses the same integer kernels.
//
// Why: with round-to-nearest, 8-bit per-channel weights alone take mobilenet_v2 to 16.1 dB SQNR against
// FP32 (its untrained layers amplify noise); GPTQ on the same grid gives 19.1 dB.
//
// Not pre-rounded (round-to-nearest, reported): weights read by several nodes, shapes GPTQ does not handle
// (pipeline/layer_hessians.h: Conv other than 2-D, Gemm with transA), and reduce-range grids ([-64, 63]:
// GPTQ's error feedback could push values past 63, which the 8-bit grid it rounds on would not clamp).
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"
#include "pipeline/layer_hessians.h"
#include "quant/quant_plan.h"
#include "quant/rounded_weights.h"

namespace onnxquant {

class Model;

struct StaticRoundingReport {
  int weights = 0;                  // weights GPTQ rounded
  int64_t samples = 0;
  std::vector<std::string> skipped; // "tensor: why" for quantized weights left to round-to-nearest
};

// `model`: the prepared float model `plan` was made on.
RoundedWeights round_static_weights(const Model& model, const QuantPlan& plan, const std::vector<NamedTensors>& samples,
                                    const HessianOptions& options, StaticRoundingReport& report);

}  // namespace onnxquant
