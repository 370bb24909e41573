// The verdict: one word a person can act on, from the per-output agreement of a candidate model (quantized,
// cast) with its FP32 reference. Thresholds are on cosine similarity, the metric that stays comparable
// across outputs of any scale:
//   excellent  cosine >= 0.999   indistinguishable for almost every task
//   good       cosine >= 0.99    usually fine; classification top-1 rarely changes
//   check      cosine >= 0.95    measure your task metric (accuracy, mAP, WER) before shipping
//   poor       below 0.95, or the candidate produces NaN/Inf where the reference does not
// The cosine judged is, for each output, the mean over samples of the per-sample cosine; the worst output
// decides (a detector with good boxes and broken scores is broken).
//
// Cosine is blind to magnitude: outputs scaled by 1.5 have cosine 1. So the SQNR over all samples caps the
// level at what that cosine would mean for noise uncorrelated with the signal (cos = 1/sqrt(1 + 10^(-SQNR/10))):
// excellent needs SQNR >= 27 dB, good >= 17 dB, check >= 10 dB. Quantization noise passes the cap at the
// level its cosine gives; a scale or offset error does not.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis/compare.h"

namespace onnxquant {

// Top-1 / top-k agreement of an output that holds class scores.
struct ClassAgreement {
  int64_t axis = -1;  // class axis in the output's shape
  int64_t rows = 0;   // score vectors compared (samples x positions)
  int k = 5;          // k of top-k (min(5, classes))
  double top1 = 0;    // fraction of rows whose top-1 class matches
  double topk = 0;    // fraction of rows whose reference top-1 is in the candidate's top-k
};

// The agreement of one model output over all samples.
// IoU of the masks output > threshold: pooled over all samples, and the worst sample's (samples where
// neither mask has a position count as 1).
struct MaskSummary {
  double threshold = 0;
  double iou = 1.0;
  double iou_min = 1.0;
};

struct OutputMetrics {
  std::string name;
  int64_t samples = 0;
  CompareStats overall;     // accumulated over every element of every sample
  double cosine_mean = 1.0; // mean over samples of the per-sample cosine
  double cosine_min = 1.0;  // worst sample
  std::optional<ClassAgreement> classes;
  std::optional<MaskSummary> mask;  // with validate --mask-threshold
};

enum class VerdictLevel { Excellent, Good, Check, Poor };
const char* verdict_name(VerdictLevel level);  // "excellent", "good", "check", "poor"

struct VerdictThresholds {
  double excellent = 0.999;
  double good = 0.99;
  double check = 0.95;
  double excellent_sqnr_db = 27;
  double good_sqnr_db = 17;
  double check_sqnr_db = 10;
  // Outputs compared as masks (validate --mask-threshold) are judged by their pooled IoU instead of
  // cosine and SQNR: a probability map that is empty on some samples makes their per-sample cosine
  // meaningless, and the mask is what the post-processing reads.
  double excellent_iou = 0.98;
  double good_iou = 0.95;
  double check_iou = 0.85;
};

struct Verdict {
  VerdictLevel level = VerdictLevel::Excellent;
  double cosine = 1.0;       // the worst output's mean cosine (what --fail-below compares)
  double sqnr_db = 0;        // SQNR of the output that decided (+inf when identical)
  std::string output;        // the output that decided ("" when there are none)
  std::string limited_by;    // "cosine", "sqnr" (magnitude error), "mask_iou" or "nonfinite"
  std::string message;       // one sentence for people
};

Verdict judge(const std::vector<OutputMetrics>& outputs, const VerdictThresholds& thresholds = {});

}  // namespace onnxquant
