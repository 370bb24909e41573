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
// twice (measured: all layers at once lowers efficientnet_b0's cosine from 0.90 to 0.72). Here layers are
// corrected in topological order in groups of `layers_per_step`, one quantize-and-run of the calibration
// samples per group: sequential between groups, at a fraction of the cost of one run per layer.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "calib/range_methods.h"
#include "core/tensor.h"
#include "exec/executor.h"
#include "quant/static_planner.h"

namespace onnxquant {

class Model;

struct BiasCorrectionOptions {
  int layers_per_step = 8;
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
