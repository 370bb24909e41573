#include "quant/fusion_rules.h"

#include <array>

namespace onnxquant {

namespace {

constexpr std::array kRules{
    FusionRule{"Conv", RuleKind::Compute, "conv", "DQ(x), DQ(w per-channel), DQ(b int32) -> Conv -> Q  =>  QLinearConv", 1},
    FusionRule{"MatMul", RuleKind::Compute, "matmul", "DQ(a), DQ(b) -> MatMul -> Q  =>  QLinearMatMul (a of any rank; b constant or an activation)", 1},
    FusionRule{"Gemm", RuleKind::Compute, "gemm", "DQ(a), DQ(b const), DQ(c int32) -> Gemm -> Q  =>  com.microsoft:QGemm", 1},
    FusionRule{"Add", RuleKind::Elementwise, "add", "DQ, DQ -> Add -> Q  =>  com.microsoft:QLinearAdd (a constant operand gets its own DQ)", -1},
    FusionRule{"Mul", RuleKind::Elementwise, "mul", "DQ, DQ -> Mul -> Q  =>  com.microsoft:QLinearMul (a constant operand gets its own DQ)", -1},
    FusionRule{"Concat", RuleKind::Elementwise, "concat", "DQ... -> Concat -> Q  =>  com.microsoft:QLinearConcat", -1},
    FusionRule{"GlobalAveragePool", RuleKind::Elementwise, "global_average_pool",
               "DQ -> GlobalAveragePool -> Q  =>  com.microsoft:QLinearGlobalAveragePool", 1},
    FusionRule{"AveragePool", RuleKind::Elementwise, "average_pool", "DQ -> AveragePool -> Q  =>  com.microsoft:QLinearAveragePool", 1},
    FusionRule{"Sigmoid", RuleKind::Elementwise, "sigmoid", "DQ -> Sigmoid -> Q  =>  com.microsoft:QLinearSigmoid", 1},
    FusionRule{"LeakyRelu", RuleKind::Elementwise, "leaky_relu", "DQ -> LeakyRelu -> Q  =>  com.microsoft:QLinearLeakyRelu", 1},
    FusionRule{"Softmax", RuleKind::Elementwise, "softmax", "DQ -> Softmax -> Q(range [0, 1])  =>  com.microsoft:QLinearSoftmax", 1, true},
    FusionRule{"MaxPool", RuleKind::PassThrough, "pass_through", "DQ -> MaxPool -> Q with one scale/zp  =>  Q/DQ dropped", 1},
    FusionRule{"Reshape", RuleKind::PassThrough, "pass_through", "DQ -> Reshape -> Q with one scale/zp  =>  Q/DQ dropped", 1},
    FusionRule{"Flatten", RuleKind::PassThrough, "pass_through", "DQ -> Flatten -> Q with one scale/zp  =>  Q/DQ dropped", 1},
    FusionRule{"Transpose", RuleKind::PassThrough, "pass_through", "DQ -> Transpose -> Q with one scale/zp  =>  Q/DQ dropped", 1},
    FusionRule{"Squeeze", RuleKind::PassThrough, "pass_through", "DQ -> Squeeze -> Q with one scale/zp  =>  Q/DQ dropped", 1},
    FusionRule{"Unsqueeze", RuleKind::PassThrough, "pass_through", "DQ -> Unsqueeze -> Q with one scale/zp  =>  Q/DQ dropped", 1},
    FusionRule{"Resize", RuleKind::PassThrough, "pass_through", "DQ -> Resize -> Q with one scale/zp  =>  Q/DQ dropped (uint8 Resize)", 1},
    FusionRule{"Slice", RuleKind::PassThrough, "pass_through", "DQ -> Slice -> Q with one scale/zp  =>  Q/DQ dropped", 1},
    FusionRule{"Gather", RuleKind::PassThrough, "pass_through", "DQ(data) -> Gather -> Q with one scale/zp  =>  Q/DQ dropped", 1},
    FusionRule{"Expand", RuleKind::PassThrough, "pass_through", "DQ -> Expand -> Q with one scale/zp  =>  Q/DQ dropped", 1},
    FusionRule{"Tile", RuleKind::PassThrough, "pass_through", "DQ -> Tile -> Q with one scale/zp  =>  Q/DQ dropped", 1},
    FusionRule{"Split", RuleKind::PassThrough, "pass_through", "DQ -> Split -> Q per output, all with one scale/zp  =>  uint8 Split", 1},
    FusionRule{"Relu", RuleKind::FoldIntoProducer, "relu_folded", "op -> Relu -> Q(zp = qmin)  =>  Relu removed (ReluQuantFusion)", 1},
    FusionRule{"Clip", RuleKind::FoldIntoProducer, "clip_folded",
               "op -> Clip(min, max) -> Q(range inside [min, max])  =>  Clip removed (ClipQuantFusion)", 1},
};

}  // namespace

std::span<const FusionRule> fusion_rules() { return kRules; }

const FusionRule* find_fusion_rule(const std::string& op_type) {
  for (const auto& r : kRules)
    if (op_type == r.op_type) return &r;
  return nullptr;
}

}  // namespace onnxquant
