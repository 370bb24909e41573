// Rule: every quantized decision of a DynamicPlan replaces its MatMul / Gemm by
//   DynamicQuantizeLinear(x) -> (x_q uint8, x_scale, x_zp)
//   MatMulInteger(x_q, W_q, x_zp, w_zp) -> Cast(to float) -> Mul(Mul(x_scale, w_scale)) [-> Add(bias)]
// the chain ORT fuses into DynamicQuantizeMatMul (quant/dynamic_planner.h). W_q is int8 [K, N],
// symmetric (a scalar zero point 0), scale per output column ([N]) or per tensor; a Gemm's [N, K] weight is
// transposed into the copy, alpha multiplies the scales, beta the bias copy. Each node gets its own
// DynamicQuantizeLinear (ORT fuses a DynamicQuantizeLinear only into a single MatMulInteger); equal
// weights (same tensor, layout and alpha) share one quantized copy. Float originals are never edited
// (remove_dead_nodes drops them when nothing reads them). The last node writes the original output name.
#pragma once
#include "quant/dynamic_planner.h"
#include "rewrite/pass.h"

namespace onnxquant {

class DynamicQuant : public Pass {
 public:
  explicit DynamicQuant(const DynamicPlan& plan) : plan_(plan) {}
  std::string name() const override { return "dynamic_quant"; }
  bool match(const Model& model) const override;
  PassReport apply(Model& model) const override;

 private:
  const DynamicPlan& plan_;
};

}  // namespace onnxquant
