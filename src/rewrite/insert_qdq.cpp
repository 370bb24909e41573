#include "rewrite/insert_qdq.h"

#include <onnx/onnx_pb.h>

#include <map>

#include "core/errors.h"
#include "ir/model.h"
#include "rewrite/qdq_nodes.h"

namespace onnxquant {

bool InsertQdq::match(const Model&) const {
  for (const auto& d : plan_.tensors)
    if (d.role == TensorRole::Activation) return true;
  return false;
}

PassReport InsertQdq::apply(Model& model) const {
  PassReport report{name(), 0, {}};
  auto& g = *model.proto().mutable_graph();
  NameAllocator names(g);

  struct Pair {
    onnx::NodeProto q, dq;
  };
  std::map<std::string, Pair> pairs;                 // activation tensor -> its Q/DQ
  std::map<std::string, std::string> dequantized;    // activation tensor -> DQ output
  for (const auto& d : plan_.tensors) {
    if (d.role != TensorRole::Activation) continue;
    if (d.scales.size() != 1) throw InternalError("activation '" + d.tensor + "' planned with " + std::to_string(d.scales.size()) + " scales");
    const QParamNames params = add_qparam_initializers(g, names, d.tensor, d);
    const std::string q_out = names.unique(d.tensor + "_quantized");
    const std::string dq_out = names.unique(d.tensor + "_dequantized");
    Pair p{make_qdq_node("QuantizeLinear", names.unique(d.tensor + "_QuantizeLinear"), d.tensor, params, q_out),
           make_qdq_node("DequantizeLinear", names.unique(d.tensor + "_DequantizeLinear"), q_out, params, dq_out)};
    pairs.emplace(d.tensor, std::move(p));
    dequantized.emplace(d.tensor, dq_out);
  }

  // Readers switch to the DQ output; the new Q nodes are built separately and keep reading the float tensor.
  for (auto& n : *g.mutable_node())
    for (auto& in : *n.mutable_input())
      if (auto it = dequantized.find(in); it != dequantized.end()) {
        in = it->second;
        ++report.changes;
      }

  // Rebuild the node list: a pair right after its producer keeps the list topologically sorted.
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  auto emit_pair = [&](const std::string& tensor) {
    auto it = pairs.find(tensor);
    if (it == pairs.end()) return;
    *nodes.Add() = std::move(it->second.q);
    *nodes.Add() = std::move(it->second.dq);
    pairs.erase(it);
  };
  for (const auto& in : g.input()) emit_pair(in.name());
  for (auto& n : *g.mutable_node()) {
    std::vector<std::string> outs(n.output().begin(), n.output().end());
    *nodes.Add() = std::move(n);
    for (const auto& o : outs) emit_pair(o);
  }
  if (!pairs.empty())
    throw InternalError("plan quantizes '" + pairs.begin()->first + "', which no node of the main graph produces and is no graph input");
  g.mutable_node()->Swap(&nodes);
  report.notes.push_back(std::to_string(dequantized.size()) + " activation Q/DQ pairs");
  return report;
}

}  // namespace onnxquant
