// Rule: every Activation decision of the plan gets a QuantizeLinear -> DequantizeLinear pair right
// behind the tensor's producer (or at the top for a graph input), with the plan's scale/zero point as
// scalar initializers, and every node of the main graph that read the tensor reads the DequantizeLinear
// output instead: ORT's QDQ selectors need the quantized op's output to feed only a Q, and its inputs to
// come from DQs. A graph output keeps its float tensor (the graph's output list is not renamed); subgraphs
// that capture the tensor keep reading the float value. Weights and biases: rewrite/quantize_weights.h.
#pragma once
#include "quant/quant_plan.h"
#include "rewrite/pass.h"

namespace onnxquant {

class InsertQdq : public Pass {
 public:
  explicit InsertQdq(const QuantPlan& plan) : plan_(plan) {}
  std::string name() const override { return "insert_qdq"; }
  bool match(const Model& model) const override;
  PassReport apply(Model& model) const override;

 private:
  const QuantPlan& plan_;
};

}  // namespace onnxquant
