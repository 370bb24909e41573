// Model loading as `onnxquant inspect` and every other command see it: parse with limits, check the
// structure (load_checks), then build the Graph index of each graph, order it, infer shapes and summarize.
#include <onnx/onnx_pb.h>

#include "analysis/inspect.h"
#include "core/errors.h"
#include "ir/graph.h"
#include "ir/graph_walk.h"
#include "ir/model.h"
#include "ir/shape_inference.h"
#include "ir/tensor_proto.h"
#include "targets.h"
#include "targets/scratch_file.h"

namespace onnxquant::fuzz {

namespace {
// Every graph, nested ones with the names their enclosing graphs make visible, as the passes index them.
void index_graph(const onnx::GraphProto& g, const std::set<std::string>& outer) {
  const Graph graph(g, outer);
  graph.topological_order();
  for (const auto& name : graph.output_names()) graph.value_type(name);
  std::set<std::string> visible = outer;
  for (const auto& v : g.input()) visible.insert(v.name());
  for (const auto& t : g.initializer()) visible.insert(t.name());
  for (const auto& n : g.node())
    for (const auto& o : n.output()) visible.insert(o);
  for (const auto& sub : graph.subgraphs()) index_graph(*sub.graph, visible);
}
}  // namespace

void model(std::string_view bytes) {
  // A real file, so that external-data references resolve (and are refused) against a real folder.
  const auto path = scratch_file(bytes, "model.onnx");
  try {
    Model m = Model::load(path);
    index_graph(m.proto().graph(), {});
    for_each_tensor(*m.proto().mutable_graph(), [](onnx::TensorProto& t) {
      try {
        tensor_from_proto(t);
      } catch (const DataError&) {
      }
    });
    inspect_model(m);
    infer_shapes(m);  // ONNX's own inference; its failures come back as a message
    inspect_model(m);
  } catch (const Error&) {
  }
}

}  // namespace onnxquant::fuzz
