// The placement table: which float ops static INT8 quantizes, how, and the ORT (1.30) graph fusion each
// rule targets. ORT turns a `DQ -> op -> Q` group into an integer kernel only when every input the kernel
// reads comes from a DequantizeLinear and the op's only consumer is a QuantizeLinear; a Q/DQ pair ORT
// cannot fuse just costs time, so an op without a rule here stays float and gets no Q/DQ of its own.
// Tests (tests/unit/test_static_quant.cpp) show ORT performs each rule by counting ops in its optimized graph.
#pragma once
#include <span>
#include <string>

namespace onnxquant {

enum class RuleKind {
  // Integer matmul-like kernel: activation input 0, constant weight input 1 (int8, per-channel),
  // optional constant bias input 2 (int32, scale = input scale x weight scale). Output quantized.
  Compute,
  // Every input is an activation with its own scale/zp; the output has its own (QLinearAdd/Mul/Concat,
  // QLinear(Global)AveragePool, QLinearSigmoid).
  Elementwise,
  // Data movement: input 0 and output share one scale/zp, so ORT drops the Q/DQ pair around the op
  // (DropQDQNodesRules) and it runs on uint8/int8 directly.
  PassThrough,
  // Relu in front of a Q: ORT removes it (ReluQuantFusion) when the Q's zero point is the grid's minimum,
  // which a uint8 range [0, max] gives. The producer's output Q moves behind the Relu.
  FoldIntoProducer,
};

struct FusionRule {
  const char* op_type;
  RuleKind kind;
  const char* name;        // rule name shown in the plan
  const char* ort_fusion;  // what ORT does with the group
  int activation_inputs;   // inputs quantized as activations (-1: all of them)
};

std::span<const FusionRule> fusion_rules();
const FusionRule* find_fusion_rule(const std::string& op_type);  // nullptr: no rule (stays float)

}  // namespace onnxquant
