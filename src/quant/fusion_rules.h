// The placement table: which float ops static INT8 quantizes, how, and the ORT (1.30, CPU EP) graph
// fusion each rule targets. ORT turns a `DQ -> op -> Q` group into an integer kernel only when every input
// the kernel reads comes from a DequantizeLinear and every consumer of the op is a QuantizeLinear (see
// NodeGroupSelector::CheckQDQNodes in ORT's qdq_selectors.cc); a Q/DQ pair ORT cannot fuse just costs
// time, so an op without a rule here stays float and gets no Q/DQ of its own.
//
// Ops ORT 1.30's CPU EP has no QDQ fusion for, and which therefore have no rule (they stay float, outside
// the int8 region): HardSigmoid, HardSwish, Div, Sub, Pow, ConvTranspose (its QDQ selector exists only for
// the NNAPI/QNN/XNNPACK node units, not for the CPU EP's graph transformer), LayerNormalization.
//
// Tests (tests/unit/test_fusion_rules.cpp, tests/unit/test_static_quant.cpp) show ORT performs each rule by
// counting ops in its optimized graph.
#pragma once
#include <span>
#include <string>

namespace onnxquant {

enum class RuleKind {
  // Integer matmul-like kernel: activation input 0, constant weight input 1 (int8, per-channel),
  // optional constant bias input 2 (int32, scale = input scale x weight scale). Output quantized.
  // MatMul also takes an activation as input 1 (QLinearMatMul of two activations).
  Compute,
  // Every input is an activation with its own scale/zp; the output has its own (QLinearAdd/Mul/Concat,
  // QLinear(Global)AveragePool, QLinearSigmoid/LeakyRelu/Softmax). Add/Mul also take a constant operand,
  // stored quantized like an activation and read through its own DequantizeLinear (ORT's BinarySelector
  // only needs both inputs to come from a DQ).
  Elementwise,
  // Data movement: input 0 and every output share one scale/zp, so ORT drops the Q/DQ pair around the op
  // (DropQDQNodesRules, SplitQDQRules) and it runs on uint8/int8 directly.
  PassThrough,
  // Relu/Clip in front of a Q: ORT removes it (ReluQuantFusion, ClipQuantFusion) when the Q's range
  // already clips: Relu when the zero point is the grid minimum, Clip when [scale*(qmin-zp),
  // scale*(qmax-zp)] lies inside [min, max]. The producer's output Q moves behind the Relu/Clip.
  FoldIntoProducer,
};

struct FusionRule {
  const char* op_type;
  RuleKind kind;
  const char* name;        // rule name shown in the plan
  const char* ort_fusion;  // what ORT does with the group
  int activation_inputs;   // inputs quantized as activations (-1: all of them)
  bool opt_in = false;     // protected by default (accuracy), quantized only when the options ask
};

std::span<const FusionRule> fusion_rules();
const FusionRule* find_fusion_rule(const std::string& op_type);  // nullptr: no rule (stays float)

}  // namespace onnxquant
