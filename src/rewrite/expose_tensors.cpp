#include "rewrite/expose_tensors.h"

#include <onnx/onnx_pb.h>

#include <set>

#include "ir/graph.h"
#include "ir/model.h"

namespace onnxquant {

bool ExposeTensors::match(const Model& model) const {
  const Graph g(model.proto().graph());
  for (const auto& n : names_)
    if (g.producer(n) >= 0 && !g.is_graph_output(n)) return true;
  return false;
}

PassReport ExposeTensors::apply(Model& model) const {
  PassReport report{name(), 0, {}};
  auto& proto = *model.proto().mutable_graph();
  const Graph g(proto);
  std::set<std::string> done;
  std::vector<onnx::ValueInfoProto> added;
  for (const auto& n : names_) {
    if (!done.insert(n).second || g.is_graph_output(n)) continue;
    if (g.producer(n) < 0) {
      report.notes.push_back("'" + n + "' is not produced by a node of the main graph; not exposed");
      continue;
    }
    onnx::ValueInfoProto v;
    v.set_name(n);
    for (const auto& info : proto.value_info())
      if (info.name() == n) {
        // Keep the element type only: inferred shapes may hold dims that are symbolic in practice.
        if (info.type().has_tensor_type()) v.mutable_type()->mutable_tensor_type()->set_elem_type(info.type().tensor_type().elem_type());
        break;
      }
    added.push_back(std::move(v));
  }
  for (auto& v : added) *proto.add_output() = std::move(v);
  report.changes = static_cast<int>(added.size());
  return report;
}

std::vector<std::string> intermediate_tensor_names(const Model& model) {
  const Graph g(model.proto().graph());
  std::vector<std::string> names;
  for (int i : g.topological_order())
    for (const auto& o : g.node(i).output())
      if (!o.empty() && !g.is_graph_output(o)) names.push_back(o);
  return names;
}

}  // namespace onnxquant
