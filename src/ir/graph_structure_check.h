// Load-time check that a model's graphs are graphs every later stage can walk: each tensor produced once,
// every node input and graph output produced by something (a node, an input, an initializer, or an
// enclosing graph for a subgraph), and no cycle. ORT refuses such models too, but later and less clearly;
// our own passes would index them wrongly (a second producer hides the first) or loop.
// Nodes listed out of order are accepted: ONNX wants file order to be topological, ORT sorts them itself,
// and every stage here walks Graph::topological_order(), never file order.
#pragma once
#include <string>

namespace onnx {
class GraphProto;
}

namespace onnxquant {

// Throws LoadError "<origin>: [in subgraph 'ATTR' of node 'N': ]..." naming the tensor and nodes.
// Linear in the number of nodes (hash indices and one Kahn pass per graph).
void check_graph_structure(const onnx::GraphProto& graph, const std::string& origin);

}  // namespace onnxquant
