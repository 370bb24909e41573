// Rule: every quantized decision of a WeightOnlyPlan is carried out with the integer values given for it
// (round-to-nearest or GPTQ, computed before this pass). DequantizeLinear format: an int8 / int4
// initializer (4-bit packed two per byte, opset 21) plus a float scale (scalar, [C] with `axis`, or
// blocked with `axis` and `block_size`) and, when asymmetric, a zero point, read through a
// DequantizeLinear whose output replaces the consumer's input. MatMulNBits format: the MatMul itself
// becomes com.microsoft MatMulNBits (B as [N, blocks, block_size/2] unsigned nibbles, scales [N*blocks],
// zero points packed like B when asymmetric, 8 implied otherwise). Decisions with the same tensor, grid
// and format share one quantized copy; float originals are never edited (remove_dead_nodes drops them
// when nothing reads them any more).
#pragma once
#include <map>
#include <string>

#include "quant/weight_grid.h"
#include "quant/weight_only_planner.h"
#include "rewrite/pass.h"

namespace onnxquant {

// The key under which a decision's values are given: tensor, grid and format.
std::string weight_key(const WeightDecision& d);

class QuantizeWeightsOnly : public Pass {
 public:
  QuantizeWeightsOnly(const WeightOnlyPlan& plan, const std::map<std::string, QuantizedWeight>& values) : plan_(plan), values_(values) {}
  std::string name() const override { return "quantize_weights_only"; }
  bool match(const Model& model) const override;
  PassReport apply(Model& model) const override;

 private:
  const WeightOnlyPlan& plan_;
  const std::map<std::string, QuantizedWeight>& values_;
};

}  // namespace onnxquant
