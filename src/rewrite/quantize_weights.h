// Rule: every Weight / Bias / Constant decision of the plan becomes an integer initializer (int8 weights,
// int32 biases, uint8/int8 Add/Mul constants) read through a DequantizeLinear (with `axis` when
// per-channel), and its consumer's input is pointed at the DequantizeLinear's output. Values:
// w_q = clamp(round_half_even(w / s[c]) + zp[c], qmin, qmax) on the plan's grid ([-127, 127] by default);
// b_q = round_half_even(b / (s_in * s_w[c])) (the planner checked the int32 range). Identical decisions
// for a shared weight (same tensor, dtype, axis and scales) share one quantized copy; the float original is
// never edited and stays for any float consumer (remove_dead_nodes drops it when nothing reads it).
// Needs opset >= 13 for per-channel (UnsupportedOpError otherwise: run UpgradeOpset first).
#pragma once
#include "quant/quant_plan.h"
#include "rewrite/pass.h"

namespace onnxquant {

class QuantizeWeights : public Pass {
 public:
  explicit QuantizeWeights(const QuantPlan& plan) : plan_(plan) {}
  std::string name() const override { return "quantize_weights"; }
  bool match(const Model& model) const override;
  PassReport apply(Model& model) const override;

 private:
  const QuantPlan& plan_;
};

}  // namespace onnxquant
