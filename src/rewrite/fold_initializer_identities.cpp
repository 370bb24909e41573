#include "rewrite/fold_initializer_identities.h"

#include <onnx/onnx_pb.h>

#include <map>

#include "ir/graph.h"
#include "ir/model.h"

namespace onnxquant {

namespace {

// Identity output -> the initializer it copies, for the Identities this pass removes.
std::map<std::string, std::string> foldable(const onnx::GraphProto& proto) {
  const Graph g(proto);
  std::map<std::string, std::string> out;
  for (int i = 0; i < g.node_count(); ++i) {
    const auto& n = g.node(i);
    if (n.op_type() != "Identity" || !(n.domain().empty() || n.domain() == "ai.onnx") || n.input_size() != 1 || n.output_size() != 1) continue;
    if (!g.initializer(n.input(0)) || g.is_graph_output(n.output(0)) || !g.subgraph_consumers(n.output(0)).empty()) continue;
    out.emplace(n.output(0), n.input(0));
  }
  return out;
}

}  // namespace

bool FoldInitializerIdentities::match(const Model& model) const { return !foldable(model.proto().graph()).empty(); }

PassReport FoldInitializerIdentities::apply(Model& model) const {
  PassReport report{name(), 0, {}};
  auto& g = *model.proto().mutable_graph();
  const auto folds = foldable(g);
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  for (auto& n : *g.mutable_node()) {
    if (n.op_type() == "Identity" && n.output_size() == 1 && folds.count(n.output(0))) {
      ++report.changes;
      continue;
    }
    for (int k = 0; k < n.input_size(); ++k)
      if (auto it = folds.find(n.input(k)); it != folds.end()) n.set_input(k, it->second);
    *kept.Add() = std::move(n);
  }
  g.mutable_node()->Swap(&kept);
  // value_info of the removed outputs would describe tensors that no longer exist.
  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> infos;
  for (auto& v : *g.mutable_value_info())
    if (!folds.count(v.name())) *infos.Add() = std::move(v);
  g.mutable_value_info()->Swap(&infos);
  report.notes.push_back(std::to_string(report.changes) + " Identity node(s) over initializers folded (readers use the initializer)");
  return report;
}

}  // namespace onnxquant
