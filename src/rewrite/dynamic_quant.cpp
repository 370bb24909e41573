#include "rewrite/dynamic_quant.h"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <map>

#include "core/errors.h"
#include "ir/graph.h"
#include "ir/model.h"
#include "ir/tensor_proto.h"
#include "quant/weight_grid.h"
#include "rewrite/name_allocator.h"

namespace onnxquant {

namespace {

struct WeightCopy {
  std::string values, scale, zero_point;
};

// int8 [K, N] copy of a weight with its scale ([N] or scalar, times alpha) and zero points.
WeightCopy add_weight(onnx::GraphProto& g, NameAllocator& names, const Tensor& w, const DynamicDecision& d, bool per_channel) {
  const int64_t rows = w.shape[0], cols = w.shape[1];
  const int64_t K = d.transpose_weight ? cols : rows, N = d.transpose_weight ? rows : cols;
  Tensor kn(DType::Float32, {K, N});
  const auto src = w.as<float>();
  auto dst = kn.as<float>();
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) dst[k * N + n] = d.transpose_weight ? src[n * K + k] : src[k * N + n];
  WeightGrid grid;
  grid.grouping = per_channel ? WeightGrouping::PerChannel : WeightGrouping::PerTensor;
  grid.axis = 1;
  const QuantizedWeight q = quantize_rtn(kn, grid);
  WeightCopy c{names.unique(d.weight + "_int8"), names.unique(d.weight + "_int8_scale"), names.unique(d.weight + "_int8_zero_point")};
  Tensor values(DType::Int8, {K, N});
  std::copy(q.values.begin(), q.values.end(), values.as<int8_t>().begin());
  tensor_to_proto(values, c.values, *g.add_initializer());
  Tensor scale(DType::Float32, q.scale_shape);
  for (size_t i = 0; i < q.scales.size(); ++i) scale.as<float>()[i] = static_cast<float>(q.scales[i] * d.alpha);
  tensor_to_proto(scale, c.scale, *g.add_initializer());
  // Symmetric: every zero point is 0, so one scalar serves all columns (per-column zero points make ORT
  // take a slower path; the per-column scales are applied by the Mul after the integer product).
  tensor_to_proto(Tensor(DType::Int8, {}), c.zero_point, *g.add_initializer());
  return c;
}

onnx::NodeProto make_node(const std::string& op, const std::string& name, std::initializer_list<std::string> in, std::initializer_list<std::string> out) {
  onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(name);
  for (const auto& i : in) n.add_input(i);
  for (const auto& o : out) n.add_output(o);
  return n;
}

}  // namespace

bool DynamicQuant::match(const Model&) const { return plan_.quantized_count() > 0; }

PassReport DynamicQuant::apply(Model& model) const {
  PassReport report{name(), 0, {}};
  if (model.opset() < 11) throw UnsupportedOpError("dynamic quantization needs opset >= 11 (DynamicQuantizeLinear); upgrade the opset first");
  auto& g = *model.proto().mutable_graph();
  NameAllocator names(g);
  std::map<std::string, int> by_output;
  for (int i = 0; i < g.node_size(); ++i)
    if (g.node(i).output_size()) by_output.emplace(g.node(i).output(0), i);
  std::map<std::string, std::vector<onnx::NodeProto>> replacement;  // first output -> nodes in its place
  std::map<std::string, WeightCopy> copies;
  int weights = 0;
  for (const auto& d : plan_.nodes) {
    if (!d.quantized) continue;
    if (!by_output.count(d.output)) throw InternalError(fmt::format("dynamic plan names node '{}' that is not in the graph", d.node));
    const std::string key = fmt::format("{}|{}|{}", d.weight, d.transpose_weight, d.alpha);
    auto copy = copies.find(key);
    if (copy == copies.end()) {
      const Graph view(g);
      const auto* init = view.initializer(d.weight);
      if (!init) throw InternalError("dynamic plan quantizes '" + d.weight + "', which is not an initializer");
      copy = copies.emplace(key, add_weight(g, names, tensor_from_proto(*init), d, plan_.options.per_channel)).first;
      ++weights;
    }
    const WeightCopy& w = copy->second;
    const std::string base = d.node.empty() ? d.output : d.node;
    const std::string xq = names.unique(base + "_x_quantized"), xs = names.unique(base + "_x_scale"), xz = names.unique(base + "_x_zero_point");
    const std::string acc = names.unique(base + "_int32"), accf = names.unique(base + "_int32_float"), mult = names.unique(base + "_multiplier");
    const std::string scaled = d.bias.empty() ? d.output : names.unique(base + "_scaled");
    std::vector<onnx::NodeProto> nodes;
    nodes.push_back(make_node("DynamicQuantizeLinear", names.unique(base + "_DynamicQuantizeLinear"), {d.activation}, {xq, xs, xz}));
    nodes.push_back(make_node("MatMulInteger", names.unique(base + "_MatMulInteger"), {xq, w.values, xz, w.zero_point}, {acc}));
    nodes.push_back(make_node("Mul", names.unique(base + "_multiplier"), {xs, w.scale}, {mult}));
    auto cast = make_node("Cast", names.unique(base + "_Cast"), {acc}, {accf});
    auto* to = cast.add_attribute();
    to->set_name("to");
    to->set_type(onnx::AttributeProto::INT);
    to->set_i(onnx::TensorProto::FLOAT);
    nodes.push_back(std::move(cast));
    nodes.push_back(make_node("Mul", names.unique(base + "_scale"), {accf, mult}, {scaled}));
    if (!d.bias.empty()) {
      std::string bias = d.bias;
      if (d.beta != 1.f) {
        const Graph view(g);
        Tensor b = tensor_from_proto(*view.initializer(d.bias));
        for (auto& v : b.as<float>()) v *= d.beta;
        bias = names.unique(d.bias + "_times_beta");
        tensor_to_proto(b, bias, *g.add_initializer());
      }
      nodes.push_back(make_node("Add", names.unique(base + "_bias"), {scaled, bias}, {d.output}));
    }
    replacement[d.output] = std::move(nodes);
    ++report.changes;
  }
  google::protobuf::RepeatedPtrField<onnx::NodeProto> out;
  for (auto& n : *g.mutable_node()) {
    const auto it = n.output_size() ? replacement.find(n.output(0)) : replacement.end();
    if (it == replacement.end()) {
      *out.Add() = std::move(n);
      continue;
    }
    for (auto& r : it->second) *out.Add() = std::move(r);
  }
  g.mutable_node()->Swap(&out);
  report.notes.push_back(fmt::format("{} MatMul/Gemm nodes quantized dynamically, {} int8 weight copies", report.changes, weights));
  return report;
}

}  // namespace onnxquant
