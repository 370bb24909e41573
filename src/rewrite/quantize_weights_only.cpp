#include "rewrite/quantize_weights_only.h"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include "core/errors.h"
#include "ir/model.h"
#include "ir/tensor_proto.h"
#include "quant/int4_pack.h"
#include "rewrite/name_allocator.h"

namespace onnxquant {

namespace {

void set_int(onnx::NodeProto& n, const std::string& name, int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

void add_float_initializer(onnx::GraphProto& g, const std::string& name, const Shape& shape, const std::vector<double>& values) {
  Tensor t(DType::Float32, shape);
  for (size_t i = 0; i < values.size(); ++i) t.as<float>()[i] = static_cast<float>(values[i]);
  tensor_to_proto(t, name, *g.add_initializer());
}

// int8 through Tensor; int4 (ONNX INT4 = 22) packed by hand: Tensor has no 4-bit element size.
void add_int_initializer(onnx::GraphProto& g, const std::string& name, const Shape& shape, const std::vector<int8_t>& values, int bits) {
  if (bits == 8) {
    Tensor t(DType::Int8, shape);
    std::copy(values.begin(), values.end(), t.as<int8_t>().begin());
    tensor_to_proto(t, name, *g.add_initializer());
    return;
  }
  auto* p = g.add_initializer();
  p->set_name(name);
  p->set_data_type(static_cast<int32_t>(DType::Int4));
  for (auto d : shape) p->add_dims(d);
  p->set_raw_data(pack_int4(values));
}

bool symmetric(const QuantizedWeight& q) { return q.grid.scheme == WeightScheme::Symmetric; }

// DequantizeLinear in front of the consumer; returns its output name.
std::string emit_dequantize(onnx::GraphProto& g, NameAllocator& names, const WeightDecision& d, const QuantizedWeight& q,
                            std::vector<onnx::NodeProto>& front) {
  const std::string base = d.tensor + (q.grid.bits == 4 ? "_int4" : "_int8");
  const std::string q_name = names.unique(base);
  add_int_initializer(g, q_name, q.shape, q.values, q.grid.bits);
  const std::string s_name = names.unique(base + "_scale");
  add_float_initializer(g, s_name, q.scale_shape, q.scales);
  onnx::NodeProto n;
  n.set_op_type("DequantizeLinear");
  n.set_name(names.unique(base + "_DequantizeLinear"));
  n.add_input(q_name);
  n.add_input(s_name);
  if (!symmetric(q)) {
    const std::string z_name = names.unique(base + "_zero_point");
    std::vector<int8_t> zp(q.zero_points.begin(), q.zero_points.end());
    add_int_initializer(g, z_name, q.scale_shape, zp, q.grid.bits);
    n.add_input(z_name);
  }
  const std::string out = names.unique(d.tensor + "_dequantized");
  n.add_output(out);
  if (q.grid.grouping != WeightGrouping::PerTensor) set_int(n, "axis", q.grid.axis);
  if (q.grid.grouping == WeightGrouping::Blocked) set_int(n, "block_size", q.grid.block_size);
  front.push_back(std::move(n));
  return out;
}

// Inputs 1.. of a MatMulNBits: packed B, scales, and zero points ("" when symmetric).
struct NBitsInputs {
  std::string b, scales, zero_points;
};

// The packed initializers of W[K, N] (blocked along axis 0) for MatMulNBits.
NBitsInputs add_nbits_initializers(onnx::GraphProto& g, NameAllocator& names, const std::string& tensor, const QuantizedWeight& q) {
  const int64_t K = q.shape[0], N = q.shape[1], bs = q.grid.block_size;
  const int64_t blocks = (K + bs - 1) / bs;
  std::vector<int8_t> b(static_cast<size_t>(N * blocks * bs));
  std::vector<double> scales(static_cast<size_t>(N * blocks));
  std::vector<int8_t> zps(static_cast<size_t>(N * blocks));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const int64_t gidx = blk * N + n;  // scale_shape [blocks, N]
      scales[n * blocks + blk] = q.scales[gidx];
      const auto zp = static_cast<int8_t>(q.zero_points[gidx] + 8);
      zps[n * blocks + blk] = zp;
      for (int64_t j = 0; j < bs; ++j) {
        const int64_t k = blk * bs + j;
        b[(n * blocks + blk) * bs + j] = k < K ? static_cast<int8_t>(q.values[k * N + n] + 8) : zp;
      }
    }
  const std::string base = tensor + "_nbits";
  auto* bp = g.add_initializer();
  bp->set_name(names.unique(base));
  bp->set_data_type(onnx::TensorProto::UINT8);
  for (auto d : {N, blocks, bs / 2}) bp->add_dims(d);
  bp->set_raw_data(pack_int4(b));
  const std::string s_name = names.unique(base + "_scale");
  add_float_initializer(g, s_name, {N * blocks}, scales);
  NBitsInputs in{bp->name(), s_name, ""};
  if (!symmetric(q)) {
    std::vector<int8_t> packed_rows;
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t blk = 0; blk < blocks; ++blk) packed_rows.push_back(zps[n * blocks + blk]);
      if (blocks % 2) packed_rows.push_back(8);  // each row starts on a byte boundary
    }
    auto* zp = g.add_initializer();
    zp->set_name(names.unique(base + "_zero_point"));
    zp->set_data_type(onnx::TensorProto::UINT8);
    zp->add_dims(N * ((blocks + 1) / 2));
    zp->set_raw_data(pack_int4(packed_rows));
    in.zero_points = zp->name();
  }
  return in;
}

// The consumer MatMul becomes MatMulNBits reading `in`.
void to_matmul_nbits(onnx::NodeProto& node, const NBitsInputs& in, const QuantizedWeight& q, int64_t accuracy_level) {
  const int64_t K = q.shape[0], N = q.shape[1];
  const std::string a = node.input(0);
  node.clear_input();
  node.add_input(a);
  node.add_input(in.b);
  node.add_input(in.scales);
  if (!in.zero_points.empty()) node.add_input(in.zero_points);
  node.set_op_type("MatMulNBits");
  node.set_domain("com.microsoft");
  node.clear_attribute();
  set_int(node, "K", K);
  set_int(node, "N", N);
  set_int(node, "bits", 4);
  set_int(node, "block_size", q.grid.block_size);
  set_int(node, "accuracy_level", accuracy_level);
}

}  // namespace

std::string weight_key(const WeightDecision& d) { return d.tensor + "|" + grid_label(d.grid) + "|" + weight_format_name(d.format); }

bool QuantizeWeightsOnly::match(const Model&) const { return plan_.quantized_count() > 0; }

PassReport QuantizeWeightsOnly::apply(Model& model) const {
  PassReport report{name(), 0, {}};
  auto& g = *model.proto().mutable_graph();
  NameAllocator names(g);
  std::map<std::string, int> by_output;
  for (int i = 0; i < g.node_size(); ++i)
    if (g.node(i).output_size()) by_output.emplace(g.node(i).output(0), i);
  std::map<std::string, std::string> copies;  // weight_key -> DequantizeLinear output
  std::map<std::string, NBitsInputs> nbits_copies;  // weight_key -> packed MatMulNBits inputs
  std::vector<onnx::NodeProto> front;
  bool nbits = false;
  for (const auto& d : plan_.weights) {
    if (!d.quantized) continue;
    const auto it = by_output.find(d.consumer_output);
    if (it == by_output.end()) throw InternalError(fmt::format("weight plan names consumer '{}' that is not in the graph", d.consumer));
    onnx::NodeProto& consumer = *g.mutable_node(it->second);
    if (d.input_index >= consumer.input_size() || consumer.input(d.input_index) != d.tensor)
      throw InternalError(fmt::format("weight plan: input {} of '{}' is not '{}'", d.input_index, d.consumer, d.tensor));
    const std::string key = weight_key(d);
    const auto v = values_.find(key);
    if (v == values_.end()) throw InternalError("no quantized values for " + key);
    if (v->second.shape != d.shape) throw InternalError("quantized values of '" + d.tensor + "' have another shape");
    if (d.format == WeightFormat::MatMulNBits) {
      auto packed = nbits_copies.find(key);
      if (packed == nbits_copies.end()) {
        packed = nbits_copies.emplace(key, add_nbits_initializers(g, names, d.tensor, v->second)).first;
        report.changes += 1;
      }
      to_matmul_nbits(consumer, packed->second, v->second, plan_.options.accuracy_level);
      nbits = true;
      continue;
    }
    auto copy = copies.find(key);
    if (copy == copies.end()) {
      copy = copies.emplace(key, emit_dequantize(g, names, d, v->second, front)).first;
      report.changes += 1;
    }
    consumer.set_input(d.input_index, copy->second);
  }
  if (nbits && model.opset("com.microsoft") == 0) {
    auto* op = model.proto().add_opset_import();
    op->set_domain("com.microsoft");
    op->set_version(1);
  }
  // DequantizeLinear nodes read only initializers: in front of everything, the node list stays sorted.
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (auto& n : front) *nodes.Add() = std::move(n);
  for (auto& n : *g.mutable_node()) *nodes.Add() = std::move(n);
  g.mutable_node()->Swap(&nodes);
  report.notes.push_back(fmt::format("{} quantized weight copies", report.changes));
  return report;
}

}  // namespace onnxquant
