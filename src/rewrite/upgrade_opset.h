// Rule: raise the default-domain opset to `target` with ONNX's version converter, which rewrites every
// node whose semantics changed between versions (never just the version number). Below opset 13 the
// Softmax family (Softmax, LogSoftmax, Hardmax) coerced its input to 2-D at `axis`; the converter can
// only express that when it knows the input's rank, and asserts otherwise (seen on Paddle2ONNX models
// with dynamic dims). So first, wherever the axis is not provably the last one, the 2-D coercion is
// made explicit — Flatten(axis) -> op(axis=1) -> Reshape(to Shape(input)) — which is correct for any
// rank and converts without a rank. A converter failure on anything else is an UnsupportedOpError that
// carries the converter's message. Models already at or above `target` are left alone.
#pragma once
#include <cstdint>

#include "rewrite/pass.h"

namespace onnxquant {

class UpgradeOpset : public Pass {
 public:
  explicit UpgradeOpset(int64_t target) : target_(target) {}
  std::string name() const override { return "upgrade_opset"; }
  bool match(const Model& model) const override;
  PassReport apply(Model& model) const override;

 private:
  int64_t target_;
};

}  // namespace onnxquant
