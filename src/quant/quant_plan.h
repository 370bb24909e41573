// The QuantPlan: every decision of a quantization, made before anything is written, each with its reason.
// Planners (quant/static_planner.h) build it by reading the graph; rewrite passes (rewrite/insert_qdq.h)
// carry it out without deciding anything themselves, so `--dry-run` shows exactly what will be done and
// `--plan-out` saves it for review.
//
// Two lists: one decision per node (quantized under which placement rule, or float and why), and one per
// tensor. Activations are planned once per tensor (one Q -> DQ pair, read by every consumer). Weights and
// biases are planned per consumer node, because a bias scale depends on the consumer's input scale: a
// weight shared by two nodes gets a quantized copy per distinct (axis, scales), and the float original is
// never edited in place.
#pragma once
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace onnxquant {

enum class TensorRole {
  Float,       // left in float32 (the reason says why)
  Activation,  // QuantizeLinear -> DequantizeLinear inserted after it
  Weight,      // stored as int8, read through DequantizeLinear
  Bias,        // stored as int32 (scale = input scale x weight scale, zero point 0)
  Constant,    // constant operand of Add/Mul: stored like an activation (uint8/int8), read through a DQ
};
const char* tensor_role_name(TensorRole role);  // "float", "activation", "weight", "bias"

enum class Granularity { PerTensor, PerChannel };

struct TensorDecision {
  std::string tensor;    // name in the original model
  std::string consumer;  // Weight/Bias: name of the node that reads this copy; "" otherwise
  std::string consumer_output;  // Weight/Bias: that node's first output (identifies unnamed nodes)
  int input_index = -1;  // Weight/Bias: which input of `consumer`
  TensorRole role = TensorRole::Float;
  DType dtype = DType::Float32;  // UInt8/Int8 (activation), Int8 (weight), Int32 (bias)
  Granularity granularity = Granularity::PerTensor;
  int64_t axis = 0;                  // per-channel axis of the DequantizeLinear
  std::vector<double> scales;        // one, or one per channel along `axis`
  std::vector<int32_t> zero_points;  // same length as scales
  int32_t qmin = 0, qmax = 0;        // Weight/Constant: integer grid ([-127, 127]; [-64, 63] with reduce range)
  std::string same_as;               // Activation: shares scale/zp with this tensor (pass-through rule)
  std::string reason;
};

struct NodeDecision {
  std::string node;     // node name ("" when unnamed)
  std::string op_type;
  std::string output;   // first output, to identify unnamed nodes
  bool quantized = false;
  std::string rule;     // placement rule applied ("" when float)
  std::string reason;
};

struct QuantPlan {
  std::string activation_type;  // "uint8_asymmetric" / "int8_symmetric"
  std::string weight_granularity;  // "per_channel" / "per_tensor"
  // The CPU the plan is made for (quant/cpu_features.h) and the weight grid it implies.
  std::string target_cpu;         // "avx2", "avx-vnni", "avx512-vnni" (resolved, never "auto")
  std::string target_cpu_source;  // "detected on this machine" / "--target-cpu"
  bool reduce_range = false;      // 7-bit weights [-64, 63]
  std::string reduce_range_reason;
  std::vector<NodeDecision> nodes;     // in topological order
  // Activations in topological order, then weights/biases/constants per consumer, then the float tensors
  // with the reason they stay float.
  std::vector<TensorDecision> tensors;

  const TensorDecision* activation(const std::string& tensor) const;  // nullptr when not quantized
  int quantized_node_count() const;
};

// JSON form written by --plan-out and printed by --dry-run --format json (docs/json-output.md,
// section `quantize`, key `plan`).
nlohmann::json plan_to_json(const QuantPlan& plan);

}  // namespace onnxquant
