// Renaming a tensor everywhere it is read: node inputs of a graph and of the subgraphs that capture it
// (stopping where a subgraph declares its own tensor of that name, which shadows the outer one).
#pragma once
#include <string>
#include <unordered_map>

namespace onnx {
class GraphProto;
}

namespace onnxquant {

// Replaces reads of each key by its value in `graph`'s nodes and nested subgraphs, and in graph
// outputs; returns the number of references changed. Producers and declarations are not touched.
int rename_uses(onnx::GraphProto& graph, const std::unordered_map<std::string, std::string>& renames);

}  // namespace onnxquant
