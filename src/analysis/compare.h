// Numeric agreement between a reference output (FP32) and a candidate (quantized, cast): the metrics
// every report uses. Accumulators are streaming so validation over many samples never holds them all.
#pragma once
#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace onnxquant {

struct CompareStats {
  int64_t elements = 0;
  double cosine = 1.0;      // over all elements seen (1 when both are all zero)
  double sqnr_db = 0.0;     // 10*log10(signal power / error power); +inf when identical
  double max_abs_error = 0.0;
  double mean_abs_error = 0.0;
  int64_t nonfinite = 0;    // positions where exactly one side is NaN/Inf, or both but different
};

// Accumulates sums over any number of (reference, candidate) pairs of equal shape.
class CompareAccumulator {
 public:
  // Throws DataError when shapes differ; `what` names the tensor in that error.
  void add(const Tensor& reference, const Tensor& candidate, const std::string& what = "output");
  CompareStats stats() const;

 private:
  int64_t n_ = 0, nonfinite_ = 0;
  double dot_ = 0, ref_sq_ = 0, cand_sq_ = 0, err_sq_ = 0, abs_sum_ = 0, abs_max_ = 0;
};

CompareStats compare_tensors(const Tensor& reference, const Tensor& candidate, const std::string& what = "output");

// Top-k agreement for class scores laid out [batch, classes] (or the last axis): fraction of rows whose
// top-1 matches, and fraction whose reference top-1 is in the candidate's top-k.
struct TopKAgreement {
  int64_t rows = 0;
  int64_t top1_matches = 0;
  int64_t ref_top1_in_cand_topk = 0;
};
TopKAgreement topk_agreement(const Tensor& reference, const Tensor& candidate, int k = 5);

// Agreement of the masks `value > threshold` (text/segmentation probability maps, detection scores):
// what a detector's post-processing sees, where cosine over a mostly-empty map says little.
struct MaskAgreement {
  int64_t intersection = 0;  // positions above the threshold in both
  int64_t union_ = 0;        // positions above it in either
  // Intersection over union; 1 when neither mask has a position above the threshold.
  double iou() const { return union_ == 0 ? 1.0 : static_cast<double>(intersection) / static_cast<double>(union_); }
};
MaskAgreement mask_agreement(const Tensor& reference, const Tensor& candidate, double threshold);

}  // namespace onnxquant
