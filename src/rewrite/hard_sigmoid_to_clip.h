// Rule: `Conv(x, W[, b]) -> HardSigmoid(alpha, beta)`, where the HardSigmoid is the Conv's only reader,
// W (and b) are float32 initializers and the opset is >= 11, becomes `Conv(x, alpha*W, alpha*b + beta) ->
// Clip(0, 1)`, because HardSigmoid(y) = clip(alpha*y + beta, 0, 1) and a Conv is linear per output
// channel. Why: ORT has no integer HardSigmoid, but it removes a Clip in front of a Q whose range lies in
// [0, 1] (ClipQuantFusion), so squeeze-excitation gates (PP-OCR, MobileNetV3) run inside QLinearConv
// instead of as DQ -> HardSigmoid -> Q. New weights are new initializers (the originals stay for other
// readers). The Clip keeps the HardSigmoid's name and output; the Conv's output gets a fresh name, since
// its values changed (a calibrated range of the old tensor must not be applied to it).
// Main graph only.
#pragma once
#include "rewrite/pass.h"

namespace onnxquant {

class HardSigmoidToClip : public Pass {
 public:
  std::string name() const override { return "hard_sigmoid_to_clip"; }
  bool match(const Model& model) const override;
  PassReport apply(Model& model) const override;
};

}  // namespace onnxquant
