// Rule (cross-layer equalization, Nagel et al. 2019, "Data-Free Quantization Through Weight Equalization
// and Bias Correction"): for two Convs in a row, A -> [Relu] -> B, where A's output (and the Relu's) feeds
// only the next node, output channel i of A is divided by s_i (its weights and bias) and input channel i
// of B is multiplied by s_i. Relu(x / s) = Relu(x) / s for s > 0, so the model computes exactly the same
// function in float. With s_i = sqrt(r1_i / r2_i) (r1_i: max |weight| of A's channel i, r2_i: max |weight|
// B reads from channel i) both sides end with range sqrt(r1_i * r2_i): channels of B whose weights were
// tiny next to the largest one in their row no longer round to a few int8 levels.
//
// Only positive-homogeneous links qualify: nothing, or Relu. Clip (Relu6), Sigmoid, SiLU, HardSwish are
// not (Clip(x / s, 0, 6) != Clip(x, 0, 6) / s), so pairs through them are left alone and counted in the
// report; Nagel et al. replace Relu6 by Relu, which changes the model, and onnxquant does not do that.
// Weights shared with another node are not touched. Chains (A -> B -> C) are swept until the scales settle.
#pragma once
#include "rewrite/pass.h"

namespace onnxquant {

struct EqualizeOptions {
  int max_sweeps = 20;             // passes over all pairs; a chain needs several to settle
  double converged_when = 1e-3;    // stop when every |s_i - 1| of a sweep is below this
  // s_i is kept within [1/max_scale, max_scale]: a channel that is all zeros on one side would
  // otherwise get an unbounded scale.
  double max_scale = 1e4;
};

class EqualizeCrossLayer : public Pass {
 public:
  explicit EqualizeCrossLayer(EqualizeOptions options = {}) : options_(options) {}
  std::string name() const override { return "equalize_cross_layer"; }
  bool match(const Model& model) const override;
  PassReport apply(Model& model) const override;

 private:
  EqualizeOptions options_;
};

}  // namespace onnxquant
