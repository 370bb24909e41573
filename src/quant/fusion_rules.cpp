#include "quant/fusion_rules.h"

#include <array>

namespace onnxquant {

namespace {

constexpr std::array kRules{
    FusionRule{"Conv", RuleKind::Compute, "conv", "DQ(x), DQ(w per-channel), DQ(b int32) -> Conv -> Q  =>  QLinearConv", 1},
    FusionRule{"MatMul", RuleKind::Compute, "matmul", "DQ(a), DQ(b const) -> MatMul -> Q  =>  QLinearMatMul", 1},
    FusionRule{"Gemm", RuleKind::Compute, "gemm", "DQ(a), DQ(b const), DQ(c int32) -> Gemm -> Q  =>  com.microsoft:QGemm", 1},
    FusionRule{"Add", RuleKind::Elementwise, "add", "DQ, DQ -> Add -> Q  =>  com.microsoft:QLinearAdd", -1},
    FusionRule{"Mul", RuleKind::Elementwise, "mul", "DQ, DQ -> Mul -> Q  =>  com.microsoft:QLinearMul", -1},
    FusionRule{"Concat", RuleKind::Elementwise, "concat", "DQ... -> Concat -> Q  =>  com.microsoft:QLinearConcat", -1},
    FusionRule{"GlobalAveragePool", RuleKind::Elementwise, "global_average_pool",
               "DQ -> GlobalAveragePool -> Q  =>  com.microsoft:QLinearGlobalAveragePool", 1},
    FusionRule{"AveragePool", RuleKind::Elementwise, "average_pool", "DQ -> AveragePool -> Q  =>  com.microsoft:QLinearAveragePool", 1},
    FusionRule{"Sigmoid", RuleKind::Elementwise, "sigmoid", "DQ -> Sigmoid -> Q  =>  com.microsoft:QLinearSigmoid", 1},
    FusionRule{"MaxPool", RuleKind::PassThrough, "pass_through", "DQ -> MaxPool -> Q with one scale/zp  =>  Q/DQ dropped", 1},
    FusionRule{"Reshape", RuleKind::PassThrough, "pass_through", "DQ -> Reshape -> Q with one scale/zp  =>  Q/DQ dropped", 1},
    FusionRule{"Flatten", RuleKind::PassThrough, "pass_through", "DQ -> Flatten -> Q with one scale/zp  =>  Q/DQ dropped", 1},
    FusionRule{"Transpose", RuleKind::PassThrough, "pass_through", "DQ -> Transpose -> Q with one scale/zp  =>  Q/DQ dropped", 1},
    FusionRule{"Squeeze", RuleKind::PassThrough, "pass_through", "DQ -> Squeeze -> Q with one scale/zp  =>  Q/DQ dropped", 1},
    FusionRule{"Unsqueeze", RuleKind::PassThrough, "pass_through", "DQ -> Unsqueeze -> Q with one scale/zp  =>  Q/DQ dropped", 1},
    FusionRule{"Relu", RuleKind::FoldIntoProducer, "relu_folded", "op -> Relu -> Q(zp = qmin)  =>  Relu removed (ReluQuantFusion)", 1},
};

}  // namespace

std::span<const FusionRule> fusion_rules() { return kRules; }

const FusionRule* find_fusion_rule(const std::string& op_type) {
  for (const auto& r : kRules)
    if (op_type == r.op_type) return &r;
  return nullptr;
}

}  // namespace onnxquant
