#include "pipeline/static_weight_rounding.h"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <map>

#include "ir/graph.h"
#include "ir/model.h"
#include "ir/tensor_proto.h"
#include "quant/gptq.h"
#include "rewrite/quantize_weights_only.h"

namespace onnxquant {

namespace {

// The static plan's weight decisions that GPTQ can round, as the weight-only plan layer_hessians.h reads.
WeightOnlyPlan as_weight_plan(const Graph& g, const QuantPlan& plan, StaticRoundingReport& report) {
  std::map<std::string, int> decisions;
  for (const auto& d : plan.tensors)
    if (d.role == TensorRole::Weight) ++decisions[d.tensor];
  std::map<std::string, int> by_output;
  for (int i = 0; i < g.node_count(); ++i)
    if (g.node(i).output_size()) by_output.emplace(g.node(i).output(0), i);
  WeightOnlyPlan wp;
  for (const auto& d : plan.tensors) {
    if (d.role != TensorRole::Weight) continue;
    const auto* init = g.initializer(d.tensor);
    const auto node = by_output.find(d.consumer_output);
    std::string why;
    if (d.qmin != -127 || d.qmax != 127) why = fmt::format("grid [{}, {}] (GPTQ rounds on [-127, 127])", d.qmin, d.qmax);
    else if (decisions[d.tensor] != 1 || g.consumers(d.tensor).size() + g.subgraph_consumers(d.tensor).size() != 1) why = "read by several nodes";
    else if (!init || init->data_type() != onnx::TensorProto::FLOAT) why = "not a float32 initializer";
    else if (node == by_output.end()) why = "its consumer is not in the float model";
    if (!why.empty()) {
      report.skipped.push_back(d.tensor + ": " + why);
      continue;
    }
    WeightDecision w;
    w.tensor = d.tensor;
    w.consumer = d.consumer;
    w.consumer_output = d.consumer_output;
    w.op_type = g.node(node->second).op_type();
    w.input_index = d.input_index;
    for (auto dim : init->dims()) w.shape.push_back(dim);
    w.channel_axis = d.axis;
    w.input_axis = d.axis == 0 ? 1 : 0;
    w.quantized = true;
    w.grid.bits = 8;
    w.grid.scheme = WeightScheme::Symmetric;
    w.grid.grouping = d.granularity == Granularity::PerChannel ? WeightGrouping::PerChannel : WeightGrouping::PerTensor;
    w.grid.axis = d.axis;
    wp.weights.push_back(std::move(w));
  }
  return wp;
}

}  // namespace

RoundedWeights round_static_weights(const Model& model, const QuantPlan& plan, const std::vector<NamedTensors>& samples,
                                    const HessianOptions& options, StaticRoundingReport& report) {
  RoundedWeights out;
  report.samples = static_cast<int64_t>(samples.size());
  const Graph g(model.proto().graph());
  const WeightOnlyPlan wp = as_weight_plan(g, plan, report);
  if (samples.empty() || wp.weights.empty()) return out;
  const LayerHessians stats = collect_layer_hessians(model, wp, samples, options);
  for (const auto& u : stats.unsupported) report.skipped.push_back(u);
  std::map<std::string, const TensorDecision*> decision;
  for (const auto& d : plan.tensors)
    if (d.role == TensorRole::Weight) decision.emplace(d.tensor, &d);
  for (const auto& w : wp.weights) {
    const auto it = stats.by_key.find(weight_key(w));
    if (it == stats.by_key.end()) continue;
    const TensorDecision& d = *decision.at(w.tensor);
    const Tensor weight = tensor_from_proto(*g.initializer(w.tensor));
    QuantizedWeight q;
    q.grid = w.grid;
    q.shape = weight.shape;
    q.scales = d.scales;
    q.zero_points.assign(d.scales.size(), 0);
    q.values.assign(static_cast<size_t>(weight.elements()), 0);
    gptq_quantize(weight.as<float>(), it->second.views, it->second.hessians, q, GptqOptions{.keep_scales = true});
    Tensor values(DType::Float32, weight.shape);
    const std::vector<float> deq = q.dequantized();
    std::copy(deq.begin(), deq.end(), values.as<float>().begin());
    out.emplace(w.tensor, RoundedWeight{w.consumer_output, d.scales, d.qmin, d.qmax, std::move(values)});
    ++report.weights;
  }
  return out;
}

}  // namespace onnxquant
