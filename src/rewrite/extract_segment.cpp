#include "rewrite/extract_segment.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <optional>
#include <set>

#include "core/errors.h"
#include "ir/graph.h"
#include "ir/model.h"

namespace onnxquant {

namespace {

// Element type and rank, every dim left free: the segment accepts any size (later samples may differ
// from the one shapes were inferred for), and ORT still knows the rank it checks inputs against.
void declare(onnx::ValueInfoProto& v, const std::string& name, const std::optional<ValueType>& type) {
  v.set_name(name);
  if (!type || type->dtype == DType::Undefined) return;
  auto* tt = v.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(static_cast<int32_t>(type->dtype));
  if (type->shape) {
    auto* shape = tt->mutable_shape();
    for (size_t d = 0; d < type->shape->size(); ++d) shape->add_dim();
  }
}

}  // namespace

Model extract_segment(const Model& model, const std::vector<int>& nodes, const std::vector<std::string>& outputs) {
  const onnx::ModelProto& whole = model.proto();
  const Graph g(whole.graph());
  auto proto = std::make_unique<onnx::ModelProto>();
  // What ORT needs besides the graph: IR version, opsets, local functions.
  proto->set_ir_version(whole.ir_version());
  *proto->mutable_opset_import() = whole.opset_import();
  *proto->mutable_functions() = whole.functions();
  auto& graph = *proto->mutable_graph();
  graph.set_name(whole.graph().name() + "_segment");

  std::vector<int> ordered = nodes;
  std::sort(ordered.begin(), ordered.end());
  std::set<std::string> produced, read;
  for (int i : ordered) {
    const auto& n = g.node(i);
    *graph.add_node() = n;
    for (const auto& o : n.output()) produced.insert(o);
  }
  for (int i : ordered) read.merge(Graph::names_read(g.node(i)));
  for (const auto& name : read) {
    if (produced.count(name)) continue;
    if (const auto* init = g.initializer(name)) {
      *graph.add_initializer() = *init;
      continue;
    }
    const auto type = g.value_type(name);
    if (!type || type->dtype == DType::Undefined)
      throw UnsupportedOpError("cannot split the model at tensor '" + name + "': its element type is unknown to shape inference");
    declare(*graph.add_input(), name, type);
  }
  for (const auto& name : outputs) {
    if (!produced.count(name)) throw InternalError("segment output '" + name + "' is not produced by the segment's nodes");
    declare(*graph.add_output(), name, g.value_type(name));
  }
  return Model(std::move(proto), model.source());
}

}  // namespace onnxquant
