#include "calib/calibration_tensors.h"

#include <onnx/onnx_pb.h>

#include <set>

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
  // Only tensors that depend on the input data are activations; the rest (Constant outputs, weights
  // passed through Identity, as PyTorch exports biases) are weights, quantized from their values.
  std::set<std::string> from_data(names.graph_inputs.begin(), names.graph_inputs.end());
  for (const auto& in : g.input_names()) from_data.insert(in);
  for (int i : g.topological_order()) {
    const auto& n = g.node(i);
    bool depends_on_data = false;
    for (const auto& in : n.input()) depends_on_data = depends_on_data || from_data.count(in);
    for (const auto& attr : n.attribute())
      if (attr.has_g() || attr.graphs_size() > 0) depends_on_data = true;  // subgraphs may read anything
    if (!depends_on_data) continue;
    for (const auto& o : n.output()) from_data.insert(o);
    for (const auto& o : n.output())
      if (!o.empty() && wanted(o) && !only_feeds_activation(o)) names.node_outputs.push_back(o);
  }
  return names;
}

}  // namespace onnxquant
