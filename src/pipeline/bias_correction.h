// Empirical bias correction (Nagel et al. 2019, section 4.2): int8 weights and inputs shift the mean of
// a layer's output (E[W~x~] != E[Wx] when the rounding errors correlate with the data, e.g. a stem conv
// whose input has a large mean component that the folded BatchNorm bias cancels). For every quantized
// Conv/Gemm with a float bias, the per-channel mean of (quantized output - FP32 output) over calibration
// samples is subtracted from the FP32 bias, which is then quantized to int32 as usual. The output the
// quantized model is probed at is the Conv's own float output (before its QuantizeLinear), so the shift
// measured includes every upstream error as the quantized model really sees it.
//
// The paper corrects layer after layer, each measured with every earlier layer already corrected: a
// layer measured before its upstream corrections would also absorb their shift, which then gets removed
// twice. Measured on mobilenet_v2: with all layers at once, or in groups of 8, the remaining shifts grow
// 2-50x along the network (eval cosine 0.97 -> 0.65); one layer per step brings each below 0.1% of the
// channel's RMS. So layers are corrected in topological order, `layers_per_step` per quantize-and-run of
// the calibration samples (1 by default; larger is faster and only safe when shifts are local).
//
// A Conv whose only reader is a Relu/Clip is measured behind it (see bias_correction.cpp).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "calib/range_methods.h"
#include "core/tensor.h"
#include "exec/executor.h"
#include "quant/rounded_weights.h"
#include "quant/static_planner.h"

namespace onnxquant {

class Model;

struct BiasCorrectionOptions {
  int layers_per_step = 1;
  const RoundedWeights* rounded = nullptr;  // the weights the model will be quantized with (quantize_static)
};

struct BiasCorrectionReport {
  int corrected_nodes = 0;
  int samples = 0;
  int steps = 0;  // quantize-and-measure runs
  double largest_shift = 0;  // largest |mean error| removed, relative to that channel's FP32 output RMS
  std::string largest_shift_node;
};

// Edits the float biases of `fp32` (already prepared: weights as initializers, opset >= 13) so that the
// model quantized from it with `ranges` and `plan` has unbiased Conv/Gemm outputs on `samples`.
BiasCorrectionReport correct_biases(Model& fp32, const std::map<std::string, Range>& ranges, const StaticPlanOptions& plan,
                                    const std::vector<NamedTensors>& samples, const ExecOptions& exec,
                                    const BiasCorrectionOptions& options = {});

}  // namespace onnxquant
