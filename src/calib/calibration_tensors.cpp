#include "calib/calibration_tensors.h"

#include <onnx/onnx_pb.h>

#include "ir/graph.h"
#include "ir/model.h"
#include "ir/shape_inference.h"

namespace onnxquant {

CalibrationTensors calibration_tensors(Model& model, TensorCoverage coverage) {
  infer_shapes(model);  // best effort: tensors it cannot type are kept and filtered at run time
  const Graph g(model.proto().graph());
  auto wanted = [&](const std::string& name) {
    const auto t = g.value_type(name);
    return !t || t->dtype == DType::Float32 || t->dtype == DType::Undefined;
  };
  auto only_feeds_activation = [&](const std::string& name) {
    if (coverage == TensorCoverage::All || g.is_graph_output(name) || !g.subgraph_consumers(name).empty()) return false;
    const auto& readers = g.consumers(name);
    if (readers.size() != 1) return false;
    const auto& r = g.node(readers[0]);
    return (r.domain().empty() || r.domain() == "ai.onnx") && (r.op_type() == "Relu" || r.op_type() == "Clip");
  };
  CalibrationTensors names;
  for (const auto& in : g.input_names())
    if (wanted(in)) names.graph_inputs.push_back(in);
  for (int i : g.topological_order()) {
    const auto& n = g.node(i);
    if (n.op_type() == "Constant" && n.domain().empty()) continue;  // weights, not activations
    for (const auto& o : n.output())
      if (!o.empty() && wanted(o) && !only_feeds_activation(o)) names.node_outputs.push_back(o);
  }
  return names;
}

}  // namespace onnxquant
