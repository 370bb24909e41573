#include "quant/quant_plan.h"

#include <nlohmann/json.hpp>

namespace onnxquant {

const char* tensor_role_name(TensorRole role) {
  switch (role) {
    case TensorRole::Float: return "float";
    case TensorRole::Activation: return "activation";
    case TensorRole::Weight: return "weight";
    case TensorRole::Bias: return "bias";
    case TensorRole::Constant: return "constant";
  }
  return "float";
}

const TensorDecision* QuantPlan::activation(const std::string& tensor) const {
  for (const auto& t : tensors)
    if (t.role == TensorRole::Activation && t.tensor == tensor) return &t;
  return nullptr;
}

int QuantPlan::quantized_node_count() const {
  int n = 0;
  for (const auto& d : nodes) n += d.quantized ? 1 : 0;
  return n;
}

nlohmann::json plan_to_json(const QuantPlan& plan) {
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& n : plan.nodes) {
    nlohmann::json j{{"node", n.node}, {"op_type", n.op_type}, {"output", n.output}, {"quantized", n.quantized}, {"reason", n.reason}};
    j["rule"] = n.rule.empty() ? nlohmann::json(nullptr) : nlohmann::json(n.rule);
    nodes.push_back(std::move(j));
  }
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto& t : plan.tensors) {
    nlohmann::json j{{"tensor", t.tensor}, {"role", tensor_role_name(t.role)}, {"dtype", dtype_name(t.dtype)}, {"reason", t.reason}};
    if (!t.consumer.empty()) {
      j["consumer"] = t.consumer;
      j["input_index"] = t.input_index;
    }
    if (t.role != TensorRole::Float) {
      j["granularity"] = t.granularity == Granularity::PerChannel ? "per_channel" : "per_tensor";
      if (t.granularity == Granularity::PerChannel) j["axis"] = t.axis;
      j["scales"] = t.scales;
      j["zero_points"] = t.zero_points;
      if (t.qmax > t.qmin) j["integer_range"] = {t.qmin, t.qmax};
    }
    if (!t.same_as.empty()) j["same_as"] = t.same_as;
    tensors.push_back(std::move(j));
  }
  return {{"activation_type", plan.activation_type},
          {"weight_granularity", plan.weight_granularity},
          {"target_cpu", {{"isa", plan.target_cpu}, {"source", plan.target_cpu_source}}},
          {"reduce_range", {{"enabled", plan.reduce_range}, {"reason", plan.reduce_range_reason}}},
          {"quantized_nodes", plan.quantized_node_count()},
          {"nodes", nodes},
          {"tensors", tensors}};
}

}  // namespace onnxquant
