#include "quant/dynamic_planner.h"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

#include "core/errors.h"
#include "ir/graph.h"
#include "ir/node_attributes.h"
#include "ir/model.h"

namespace onnxquant {

namespace {

std::optional<std::string> excluded(const std::vector<std::string>& patterns, const onnx::NodeProto& n) {
  for (const auto& p : patterns) {
    if (n.name() == p || n.op_type() == p || (n.input_size() > 1 && n.input(1) == p)) return p;
    try {
      if (std::regex_match(n.name(), std::regex(p, std::regex::ECMAScript))) return p;
    } catch (const std::regex_error&) {
    }
  }
  return std::nullopt;
}

// Why node n stays float, or "" (and d filled) when it is quantized.
std::string decide(const Graph& g, const onnx::NodeProto& n, const DynamicOptions& opt, DynamicDecision& d) {
  if (auto p = excluded(opt.exclude, n)) return fmt::format("fp32: excluded by --exclude '{}'", *p);
  if (n.input_size() < 2) return "fp32: no weight input";
  const auto* w = g.initializer(n.input(1));
  if (!w) return fmt::format("fp32: input '{}' is not a constant weight (activation x activation stays float)", n.input(1));
  if (w->data_type() != onnx::TensorProto::FLOAT) return fmt::format("fp32: weight '{}' is not float32", n.input(1));
  if (w->dims_size() != 2) return fmt::format("fp32: weight '{}' has rank {} (2 is handled)", n.input(1), w->dims_size());
  if (w->dims(0) * w->dims(1) < opt.min_elements)
    return fmt::format("fp32: weight has {} elements < --min-elements {}", w->dims(0) * w->dims(1), opt.min_elements);
  const auto a = g.value_type(n.input(0));
  if (a && a->dtype != DType::Float32 && a->dtype != DType::Undefined) return fmt::format("fp32: activation '{}' is not float32", n.input(0));
  if (g.initializer(n.input(0))) return "fp32: both inputs are constant";
  d.activation = n.input(0);
  d.weight = n.input(1);
  if (n.op_type() == "Gemm") {
    if (int_attr(n, "transA", 0)) return "fp32: Gemm with transA=1 (MatMulInteger reads A as stored)";
    d.transpose_weight = int_attr(n, "transB", 0) != 0;
    d.alpha = float_attr(n, "alpha", 1.f);
    d.beta = float_attr(n, "beta", 1.f);
    if (n.input_size() > 2 && !n.input(2).empty()) {
      d.bias = n.input(2);
      if (d.beta != 1.f && !g.initializer(d.bias)) return "fp32: Gemm with beta != 1 and a computed C";
    }
    if (!(d.alpha > 0.f)) return fmt::format("fp32: Gemm alpha {} (folded into the weight scale, must be > 0)", d.alpha);
  }
  return {};
}

}  // namespace

int DynamicPlan::quantized_count() const {
  int n = 0;
  for (const auto& d : nodes) n += d.quantized;
  return n;
}

DynamicPlan plan_dynamic(const Model& model, const DynamicOptions& opt) {
  if (opt.min_elements < 0) throw UsageError("--min-elements must be >= 0");
  for (const auto& p : opt.exclude) {
    try {
      std::regex re(p, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      throw UsageError(fmt::format("--exclude '{}' is not a valid regex ({})", p, e.what()));
    }
  }
  const Graph g(model.proto().graph());
  DynamicPlan plan{opt, {}};
  // A weight also read by a node that is not a quantizable MatMul/Gemm weight slot stays float for
  // every reader: otherwise it would be stored twice (float and int8).
  std::map<std::string, std::string> float_readers;
  for (int i = 0; i < g.node_count(); ++i) {
    const auto& n = g.node(i);
    const bool mm = (n.domain().empty() || n.domain() == "ai.onnx") && (n.op_type() == "MatMul" || n.op_type() == "Gemm");
    for (int k = 0; k < n.input_size(); ++k)
      if (g.initializer(n.input(k)) && !(mm && k == 1)) float_readers.emplace(n.input(k), fmt::format("{} '{}' (input {})", n.op_type(), n.name(), k));
  }
  for (int i : g.topological_order()) {
    const auto& n = g.node(i);
    if (!(n.domain().empty() || n.domain() == "ai.onnx") || (n.op_type() != "MatMul" && n.op_type() != "Gemm")) continue;
    DynamicDecision d;
    d.node = n.name();
    d.op_type = n.op_type();
    d.output = n.output(0);
    d.reason = decide(g, n, opt, d);
    if (d.reason.empty())
      if (auto it = float_readers.find(d.weight); it != float_readers.end())
        d.reason = fmt::format("fp32: weight '{}' is also read in float by {}; quantizing would store it twice", d.weight, it->second);
    d.quantized = d.reason.empty();
    if (d.quantized)
      d.reason = fmt::format("int8 {} weight{}, uint8 activation at run time -> DynamicQuantizeMatMul", opt.per_channel ? "per-column" : "per-tensor",
                             d.transpose_weight ? " (transposed copy of a [N, K] weight)" : "");
    plan.nodes.push_back(std::move(d));
  }
  return plan;
}

nlohmann::json dynamic_plan_to_json(const DynamicPlan& plan) {
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& d : plan.nodes)
    nodes.push_back({{"node", d.node}, {"op_type", d.op_type}, {"quantized", d.quantized}, {"weight", d.weight.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.weight)},
                     {"transposed_weight", d.transpose_weight}, {"reason", d.reason}});
  return {{"per_channel", plan.options.per_channel}, {"min_elements", plan.options.min_elements}, {"quantized", plan.quantized_count()}, {"nodes", nodes}};
}

}  // namespace onnxquant
