// Rule: take a default-domain opset the ONNX 1.12 version converter already reached (16, its newest) up
// to `target` (<= 21), rewriting exactly the operators whose meaning changed on the way:
//   17: only new operators (LayerNormalization, DFT, STFT, windows): nothing to rewrite.
//   18: ReduceL1/L2/LogSum/LogSumExp/Max/Mean/Min/Prod/SumSquare take `axes` as an input instead of an
//       attribute: the attribute becomes an int64 initializer (an absent attribute stays absent: both
//       mean "all axes" unless noop_with_empty_axes is set, which did not exist before).
//   18-21: every other change only adds types or attributes whose defaults keep the old behaviour
//       (Split num_outputs, Pad axes/wrap, Resize antialias/axes, AveragePool dilations, Cast saturate,
//       DequantizeLinear block_size, int4 types, ...).
//   20: GridSample renamed its modes and DFT moved attributes to inputs: refused (UnsupportedOpError
//       naming the node) rather than guessed.
// Applied to subgraphs too. Needed for INT4 DequantizeLinear (opset 21).
#pragma once
#include <cstdint>

#include "rewrite/pass.h"

namespace onnxquant {

inline constexpr int64_t kConverterMaxOpset = 16;  // newest target of ONNX 1.12's version converter

class UpgradeOpsetPastConverter : public Pass {
 public:
  explicit UpgradeOpsetPastConverter(int64_t target) : target_(target) {}
  std::string name() const override { return "upgrade_opset_past_converter"; }
  bool match(const Model& model) const override;
  PassReport apply(Model& model) const override;

 private:
  int64_t target_;
};

}  // namespace onnxquant
