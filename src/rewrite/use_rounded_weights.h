// Rule: for every Weight decision of the plan that has a pre-rounded value (quant/rounded_weights.h) made
// for the same consumer, scales and grid, the float initializer is replaced by that value (integers x
// scale, in float32), so that rewrite/quantize_weights.h's round-to-nearest yields the chosen integers.
// Runs after planning and before QuantizeWeights: the planner's scales come from the original weights.
// A weight read by more than one node is left alone (its other readers would see the change).
#pragma once
#include "quant/quant_plan.h"
#include "quant/rounded_weights.h"
#include "rewrite/pass.h"

namespace onnxquant {

class UseRoundedWeights : public Pass {
 public:
  UseRoundedWeights(const QuantPlan& plan, const RoundedWeights& rounded) : plan_(plan), rounded_(rounded) {}
  std::string name() const override { return "use_rounded_weights"; }
  bool match(const Model& model) const override;
  PassReport apply(Model& model) const override;

 private:
  const QuantPlan& plan_;
  const RoundedWeights& rounded_;
};

}  // namespace onnxquant
