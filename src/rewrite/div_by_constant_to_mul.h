// Rule: `Div(x, c)` with `c` a float32 initializer whose every value is finite and non-zero becomes
// `Mul(x, 1/c)`, with 1/c computed in double and stored as a new initializer (c itself stays for any other
// reader). Why: ORT has no integer Div, but QLinearMul takes a constant operand, so a Div by a constant
// inside an int8 region (PaddlePaddle's hardswish: x * Clip(x + 3, 0, 6) / 6) would otherwise cost a
// DQ -> Div -> Q round trip on every run. x * (1/c) differs from x / c by at most one float ulp.
// Main graph only; the node keeps its name and output.
#pragma once
#include "rewrite/pass.h"

namespace onnxquant {

class DivByConstantToMul : public Pass {
 public:
  std::string name() const override { return "div_by_constant_to_mul"; }
  bool match(const Model& model) const override;
  PassReport apply(Model& model) const override;
};

}  // namespace onnxquant
