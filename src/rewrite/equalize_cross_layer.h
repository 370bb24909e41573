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
//
// Activation-aware mode: given the per-channel ranges of the link tensor (A's output, or the Relu's) on
// calibration data, s_i = sqrt(a_i / r2_i) balances that activation's channels against B's weights
// instead of A's weights against B's. With per-channel int8 weights A's scaling is free (each of its
// output channels has its own scale), while the link is quantized with ONE scale for all channels: a
// channel 100x smaller than the largest one keeps 2-3 of 256 levels. Pairs are independent then (scaling
// a link changes no other link), so one sweep is exact.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "rewrite/pass.h"

namespace onnxquant {

struct EqualizeOptions {
  int max_sweeps = 20;             // passes over all pairs; a chain needs several to settle
  double converged_when = 1e-3;    // stop when every |s_i - 1| of a sweep is below this
  // s_i is kept within [1/max_scale, max_scale]: a channel that is all zeros on one side would
  // otherwise get an unbounded scale.
  double max_scale = 1e4;
  // Link tensor name -> per-channel max |value| on calibration data (activation-aware mode for the pairs
  // it covers; see equalizable_links()).
  std::map<std::string, std::vector<double>> link_ranges;
};

// The link tensors of the pairs the pass would equalize in `model` (what to measure for link_ranges).
std::vector<std::string> equalizable_links(const Model& model);

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
