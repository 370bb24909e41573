#include "ir/graph_walk.h"

#include <onnx/onnx_pb.h>

namespace onnxquant {

void for_each_graph(onnx::GraphProto& graph, const std::function<void(onnx::GraphProto&)>& visit) {
  visit(graph);
  for (auto& node : *graph.mutable_node())
    for (auto& attr : *node.mutable_attribute()) {
      if (attr.has_g()) for_each_graph(*attr.mutable_g(), visit);
      for (auto& g : *attr.mutable_graphs()) for_each_graph(g, visit);
    }
}

void for_each_graph(const onnx::GraphProto& graph, const std::function<void(const onnx::GraphProto&)>& visit) {
  visit(graph);
  for (const auto& node : graph.node())
    for (const auto& attr : node.attribute()) {
      if (attr.has_g()) for_each_graph(attr.g(), visit);
      for (const auto& g : attr.graphs()) for_each_graph(g, visit);
    }
}

void for_each_tensor(onnx::GraphProto& graph, const std::function<void(onnx::TensorProto&)>& visit) {
  for_each_graph(graph, [&](onnx::GraphProto& g) {
    for (auto& t : *g.mutable_initializer()) visit(t);
    for (auto& node : *g.mutable_node())
      for (auto& attr : *node.mutable_attribute()) {
        if (attr.has_t()) visit(*attr.mutable_t());
        for (auto& t : *attr.mutable_tensors()) visit(t);
      }
  });
}

void for_each_tensor(const onnx::GraphProto& graph, const std::function<void(const onnx::TensorProto&)>& visit) {
  for_each_graph(graph, [&](const onnx::GraphProto& g) {
    for (const auto& t : g.initializer()) visit(t);
    for (const auto& node : g.node())
      for (const auto& attr : node.attribute()) {
        if (attr.has_t()) visit(attr.t());
        for (const auto& t : attr.tensors()) visit(t);
      }
  });
}

}  // namespace onnxquant
