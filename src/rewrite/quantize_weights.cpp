#include "rewrite/quantize_weights.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <map>
#include <tuple>

#include "core/errors.h"
#include "ir/graph.h"
#include "ir/model.h"
#include "ir/tensor_proto.h"
#include "quant/quant_params.h"
#include "rewrite/qdq_nodes.h"

namespace onnxquant {

namespace {

bool is_param(const TensorDecision& d) { return d.role == TensorRole::Weight || d.role == TensorRole::Bias || d.role == TensorRole::Constant; }

// Integer values of one decision, channel c = (index / inner) % channels along d.axis.
Tensor quantize_param(const Tensor& w, const TensorDecision& d) {
  Tensor q(d.dtype, w.shape);
  const auto v = w.as<float>();
  int64_t inner = 1;
  const int64_t channels = static_cast<int64_t>(d.scales.size());
  if (d.granularity == Granularity::PerChannel) {
    if (d.axis < 0 || d.axis >= static_cast<int64_t>(w.shape.size()) || w.shape[d.axis] != channels)
      throw InternalError("plan for '" + d.tensor + "': " + std::to_string(channels) + " scales do not match axis " + std::to_string(d.axis) +
                          " of shape " + shape_string(w.shape));
    for (size_t k = d.axis + 1; k < w.shape.size(); ++k) inner *= w.shape[k];
  }
  for (size_t i = 0; i < v.size(); ++i) {
    const size_t c = d.granularity == Granularity::PerChannel ? (i / inner) % channels : 0;
    if (d.role == TensorRole::Weight || d.role == TensorRole::Constant) {
      // The plan's grid: [-127, 127] or [-64, 63] (reduce range) for weights, the activation grid for
      // Add/Mul constants. A plan without one (older plan files) means the symmetric int8 weight grid.
      const bool has_grid = d.qmax > d.qmin;
      const QuantParams p{d.scales[c], d.zero_points[c], has_grid ? d.qmin : -127, has_grid ? d.qmax : 127};
      const int32_t x = quantize_value(v[i], p);
      if (d.dtype == DType::UInt8) q.as<uint8_t>()[i] = static_cast<uint8_t>(x);
      else if (d.dtype == DType::Int8) q.as<int8_t>()[i] = static_cast<int8_t>(x);
      else throw InternalError("plan stores '" + d.tensor + "' as " + dtype_name(d.dtype) + ", expected uint8 or int8");
    } else {
      const double x = std::nearbyint(static_cast<double>(v[i]) / d.scales[c]);
      if (!(std::fabs(x) <= 2147483647.0)) throw InternalError("bias '" + d.tensor + "' overflows int32 although the planner checked it");
      q.as<int32_t>()[i] = static_cast<int32_t>(x);
    }
  }
  return q;
}

}  // namespace

bool QuantizeWeights::match(const Model&) const {
  for (const auto& d : plan_.tensors)
    if (is_param(d)) return true;
  return false;
}

PassReport QuantizeWeights::apply(Model& model) const {
  PassReport report{name(), 0, {}};
  auto& g = *model.proto().mutable_graph();
  NameAllocator names(g);
  // Consumers are found by their first output: unique in SSA form, and present on unnamed nodes too.
  std::map<std::string, int> by_output;
  std::map<std::string, std::string> identity_source;  // Identity output -> its input
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    if (n.output_size()) by_output.emplace(n.output(0), i);
    if (n.op_type() == "Identity" && n.domain().empty() && n.input_size() == 1 && n.output_size() == 1) identity_source.emplace(n.output(0), n.input(0));
  }
  using Key = std::tuple<std::string, int, int64_t, std::vector<double>>;
  std::map<Key, std::string> copies;  // identical decisions -> DequantizeLinear output
  std::vector<onnx::NodeProto> dq_nodes;
  for (const auto& d : plan_.tensors) {
    if (!is_param(d)) continue;
    if (d.granularity == Granularity::PerChannel && model.opset("") < 13)
      throw UnsupportedOpError("per-channel DequantizeLinear needs opset >= 13; the model has opset " + std::to_string(model.opset("")),
                               "upgrade the opset first (UpgradeOpset)");
    auto it = by_output.find(d.consumer_output);
    if (it == by_output.end()) throw InternalError("plan names consumer '" + d.consumer + "' that is not in the graph");
    onnx::NodeProto& consumer = *g.mutable_node(it->second);
    if (d.input_index >= consumer.input_size() || consumer.input(d.input_index) != d.tensor)
      throw InternalError("plan: input " + std::to_string(d.input_index) + " of '" + d.consumer + "' is not '" + d.tensor + "'");
    const Key key{d.tensor, static_cast<int>(d.dtype), d.axis, d.scales};
    auto copy = copies.find(key);
    if (copy == copies.end()) {
      // The planner reads a constant through an Identity of an initializer as that initializer.
      const auto id = identity_source.find(d.tensor);
      const std::string& source = id == identity_source.end() ? d.tensor : id->second;
      const onnx::TensorProto* src = nullptr;
      for (const auto& t : g.initializer())
        if (t.name() == source) src = &t;
      if (!src) throw InternalError("plan quantizes '" + d.tensor + "', which is not an initializer");
      const Tensor q = quantize_param(tensor_from_proto(*src), d);
      const std::string q_name = names.unique(d.tensor + "_quantized");
      tensor_to_proto(q, q_name, *g.add_initializer());
      const QParamNames params = add_qparam_initializers(g, names, d.tensor + "_quantized", d);
      const std::string out = names.unique(d.tensor + "_dequantized");
      std::optional<int64_t> axis;
      if (d.granularity == Granularity::PerChannel) axis = d.axis;
      dq_nodes.push_back(make_qdq_node("DequantizeLinear", names.unique(d.tensor + "_DequantizeLinear"), q_name, params, out, axis));
      copy = copies.emplace(key, out).first;
      report.changes += 1;
    }
    consumer.set_input(d.input_index, copy->second);
  }
  // DequantizeLinear nodes read only initializers: in front of everything, the node list stays sorted.
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (auto& n : dq_nodes) *nodes.Add() = std::move(n);
  for (auto& n : *g.mutable_node()) *nodes.Add() = std::move(n);
  g.mutable_node()->Swap(&nodes);
  report.notes.push_back(std::to_string(report.changes) + " quantized weight/bias copies");
  return report;
}

}  // namespace onnxquant
