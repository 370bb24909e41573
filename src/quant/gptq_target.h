// The asymmetric GPTQ objective: round a layer so that its output on the inputs it really receives in
// the quantized model matches the FP32 layer's output on the FP32 inputs,
//     min over Q of || X_q Q^T - X W^T ||^2,
// where X are the layer's input rows in the FP32 model and X_q the same rows when every layer before it
// is already quantized. Plain GPTQ minimises || X (W - Q)^T || and so can only undo this layer's own
// rounding; the cross term X_q^T X lets a layer also absorb the error the quantized layers in front of it
// left in its input (the loss of a narrow early layer, which has few inputs of its own to compensate with,
// is then corrected by the wider layers behind it).
//
// Per output row w the objective is (q - t)^T H_q (q - t) + const with H_q = X_q^T X_q and the target
//     t = (H_q + lambda I)^-1 (X_q^T X w + lambda w),
// so GPTQ on t with H_q (quant/gptq.h) minimises it. The damping lambda (the same `damp` times the mean of
// H_q's diagonal as GPTQ's) pulls t towards w rather than towards 0: with X_q = X the target is w
// exactly, and an input that is always 0 in the calibration data keeps its weight. H_q and the cross
// moment are kept in the same diagonal blocks, so a target is solved block by block.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "quant/gptq.h"

namespace onnxquant {

// Diagonal blocks of X_q^T X (not symmetric) for `dim` inputs: entry (i, j) sums xq_i * x_j.
class BlockCrossMoment {
 public:
  BlockCrossMoment(int64_t dim, int64_t block = kDefaultGptqBlock);
  int64_t dim() const { return dim_; }
  int64_t block() const { return block_; }
  int64_t rows() const { return rows_; }
  size_t bytes() const { return c_.size() * sizeof(double); }
  // `count` rows of `dim` values each: the quantized model's rows and the FP32 model's, in the same order.
  void add_rows(std::span<const float> quantized_rows, std::span<const float> reference_rows, int64_t count);
  double at(int64_t i, int64_t j) const;  // 0 across blocks

 private:
  int64_t dim_, block_, rows_ = 0;
  std::vector<double> c_;  // blocks one after the other, each square, row-major
  size_t offset(int64_t i, int64_t j) const;
};

struct CompensationStatistics {
  const std::vector<BlockHessian>& hq;          // one per view
  const std::vector<BlockCrossMoment>& cross;   // one per view, same layout
};

struct CompensationChoice {
  bool compensated = false;  // false: the weight is kept (the held-out error was lowest without a target)
  double damp = 0.0;         // the chosen relative damping
};

// Relative dampings tried: lambda = damp x mean of H_q's diagonal.
std::vector<double> default_compensation_dampings();

// `weight` with every element the views cover replaced by its target t. The damping is chosen by
// two-fold cross-validation over the calibration samples: `half` holds the statistics of one half of
// them (`all` minus `half`, the other); each damping fits on one half and is scored by the other half's
// output error, and keeping the weight unchanged competes too. Why: the cross term can fit the
// calibration outputs exactly when a layer has few input rows for its inputs (a classifier sees one row
// per sample), which measured on mobilenet_v2 made the eval loss 0.92x of round-to-nearest where the
// calibration loss went to nearly 0; the right damping differs by layer and model, so it is measured.
std::vector<float> compensated_weight(std::span<const float> weight, const std::vector<MatrixView>& views, const CompensationStatistics& all,
                                      const CompensationStatistics& half, const std::vector<double>& dampings, CompensationChoice& choice);

}  // namespace onnxquant
