// Visit a graph and every subgraph nested in node attributes (If/Loop/Scan bodies), depth first.
#pragma once
#include <functional>

namespace onnx {
class GraphProto;
class TensorProto;
}

namespace onnxquant {

void for_each_graph(onnx::GraphProto& graph, const std::function<void(onnx::GraphProto&)>& visit);
void for_each_graph(const onnx::GraphProto& graph, const std::function<void(const onnx::GraphProto&)>& visit);
// Every initializer and every tensor-valued node attribute (Constant values), in all subgraphs.
void for_each_tensor(onnx::GraphProto& graph, const std::function<void(onnx::TensorProto&)>& visit);
void for_each_tensor(const onnx::GraphProto& graph, const std::function<void(const onnx::TensorProto&)>& visit);

}  // namespace onnxquant
