// Plans dynamic INT8 quantization (ORT's quantize_dynamic, done right): MatMul / Gemm nodes with a
// constant 2-D weight get int8 weights (symmetric, per tensor by default, per output column on request) and activations that
// are quantized to uint8 at run time by DynamicQuantizeLinear. The rewrite emits
//   DynamicQuantizeLinear(x) -> MatMulInteger(x_q, W_q[K,N], x_zp, w_zp) -> Cast(float)
//   -> Mul(x_scale * w_scale) [-> Add(bias)]
// which ORT 1.30 fuses into MatMulIntegerToFloat and then DynamicQuantizeMatMul (its CPU kernel
// quantizes the activation once per call and accumulates in int32). Gemm weights stored [N, K]
// (transB=1) get a transposed int8 copy; the float initializer is never edited, so a weight shared by
// several Gemms (torch's cloned TransformerEncoder layers) stays correct for every reader. Gemm alpha
// folds into the weight scale, beta into a scaled bias copy. Only reads the graph.
#pragma once
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace onnxquant {

class Model;

struct DynamicOptions {
  // One weight scale per output column instead of one per tensor. Off by default: on the corpus
  // Transformer and MLP per-tensor is as accurate (cosine 0.99997 / 0.99995) and the per-column scale
  // costs ~7% latency on the MLP, where ORT's own quantize_dynamic (per tensor) sets the bar.
  bool per_channel = false;
  int64_t min_elements = 1024;
  std::vector<std::string> exclude;  // node name, op type, tensor name, or regex over node names
};

struct DynamicDecision {
  std::string node, op_type, output;  // output: the node's first output (identifies unnamed nodes)
  bool quantized = false;
  std::string activation, weight, bias;  // input names; bias "" when absent
  bool transpose_weight = false;         // weight stored [N, K]
  float alpha = 1.f, beta = 1.f;
  std::string reason;
};

struct DynamicPlan {
  DynamicOptions options;
  std::vector<DynamicDecision> nodes;  // every MatMul / Gemm, in topological order
  int quantized_count() const;
};

DynamicPlan plan_dynamic(const Model& model, const DynamicOptions& options);
nlohmann::json dynamic_plan_to_json(const DynamicPlan& plan);

}  // namespace onnxquant
