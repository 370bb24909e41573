// Data-free weight rounding in the manner of HQQ (Badri & Shaji 2023, "Half-Quadratic Quantization";
// ORT offers it for its 4-bit MatMulNBits as HQQWeightOnlyQuantizer): each group's parameters are fitted
// so that the dequantized weights match the float ones under an lp norm with p < 1 (0.7), which lets a
// few outlying weights keep a large error instead of stretching the whole group's grid for them.
// Half-quadratic splitting: alternately round onto the grid, split the error into a sparse outlier part
// (the lp proximal "shrink" step) and the rest, and refit the grid to the weights minus the outliers.
//
// The shrink step only keeps errors above (1/beta)^(1/(2-p)), 0.17 down to 0.15 in weight units at the
// defaults: on weights whose rounding errors are all smaller (every int8 grid and most int4 grids of
// normalised layers) nothing is split off and this is an alternating least-squares fit of each group's
// grid to its weights. Measured with default options (eval split): resnet50 int4 block 32 asymmetric
// 8.4 -> 11.6 dB, mobilenet_v2 8.5 -> 10.0 dB, int8 per-channel +0.1 / +0.4 dB.
//
// Where it differs from ORT's, and why: ORT keeps the min/max scale and moves a float zero point, which
// MatMulNBits accepts but DequantizeLinear does not (its zero point has the weights' integer type). So
// here the zero point stays an integer of the grid and the scale is refitted too (least squares of the
// inlier weights on their integers); a symmetric grid keeps zero point 0 and fits the scale alone. Each
// group keeps the parameters with the lowest squared error seen (min/max included), so it is never worse
// than round-to-nearest by that measure, and stops at the first step that does not lower it. (ORT judges
// by the mean absolute error; with a least-squares refit the squared error is the consistent measure, and
// it gave the better outputs: corpus transformer, int4 block 32 symmetric, 21.11 dB against 21.01.)
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "quant/weight_grid.h"

namespace onnxquant {

struct HqqOptions {
  double lp_norm = 0.7;  // ORT's defaults
  double beta = 10.0;    // shrink strength 1/beta, multiplied by 1/kappa each step
  double kappa = 1.01;
  int iterations = 20;
};

struct HqqStats {
  int64_t groups = 0;
  int64_t improved_groups = 0;  // groups whose parameters moved off min/max
  double rtn_mean_abs_error = 0, hqq_mean_abs_error = 0;  // over all elements
};

QuantizedWeight quantize_hqq(const Tensor& weight, const WeightGrid& grid, const HqqOptions& options = {}, HqqStats* stats = nullptr);

}  // namespace onnxquant
