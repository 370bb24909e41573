// A read-only index over one onnx::GraphProto: who produces and who consumes each tensor, initializers,
// Constant nodes, graph inputs/outputs, value types and shapes, subgraphs and the names they capture from
// outer scopes. Passes edit the proto directly and build a fresh Graph afterwards (indices are cheap).
#pragma once
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/tensor.h"

namespace onnx {
class GraphProto;
class NodeProto;
class TensorProto;
class ValueInfoProto;
}  // namespace onnx

namespace onnxquant {

// One dimension: a fixed size, a symbolic name ("batch"), or unknown (both empty).
struct Dim {
  std::optional<int64_t> value;
  std::string param;
  std::string str() const { return value ? std::to_string(*value) : (param.empty() ? "?" : param); }
};

struct ValueType {
  DType dtype = DType::Undefined;
  std::optional<std::vector<Dim>> shape;  // nullopt: rank unknown
};

struct SubgraphRef {
  int node = -1;              // index of the owning node in this graph
  std::string attribute;      // "then_branch", "body", ...
  const onnx::GraphProto* graph = nullptr;
};

class Graph {
 public:
  // `outer_scope`: names visible from enclosing graphs (for a subgraph); empty for the main graph.
  explicit Graph(const onnx::GraphProto& graph, std::set<std::string> outer_scope = {});

  const onnx::GraphProto& proto() const { return *graph_; }
  int node_count() const;
  const onnx::NodeProto& node(int index) const;

  // Index of the node producing `tensor`, or -1 (graph input, initializer, or missing).
  int producer(const std::string& tensor) const;
  // Indices of nodes reading `tensor` directly (not through subgraphs), ascending, each at most once.
  const std::vector<int>& consumers(const std::string& tensor) const;
  // Nodes that read `tensor` from inside one of their subgraphs (outer-scope capture).
  const std::vector<int>& subgraph_consumers(const std::string& tensor) const;

  const onnx::TensorProto* initializer(const std::string& name) const;
  // Value of an initializer or of a Constant node's output (value / value_float(s) / value_int(s)).
  std::optional<Tensor> constant_value(const std::string& name) const;

  bool is_graph_input(const std::string& name) const;   // declared input that is not an initializer
  bool is_graph_output(const std::string& name) const;
  std::vector<std::string> input_names() const;          // graph inputs minus initializers, in order
  std::vector<std::string> output_names() const;

  // Type and shape from graph inputs/outputs, value_info and initializers; nullopt when unknown.
  std::optional<ValueType> value_type(const std::string& name) const;

  // Node indices in an order where producers come first. Throws LoadError on a cycle or on a tensor
  // that is read but never produced, naming it.
  std::vector<int> topological_order() const;

  std::vector<SubgraphRef> subgraphs() const;
  // Names a subgraph reads without producing or declaring them: captured from enclosing scopes.
  static std::set<std::string> outer_scope_names(const onnx::GraphProto& subgraph);
  // Everything a node reads from its graph: its inputs and what its subgraphs capture.
  static std::set<std::string> names_read(const onnx::NodeProto& node);

 private:
  const onnx::GraphProto* graph_;
  std::unordered_map<std::string, int> producer_;
  std::unordered_map<std::string, std::vector<int>> consumers_;
  std::unordered_map<std::string, std::vector<int>> subgraph_consumers_;
  std::unordered_map<std::string, const onnx::TensorProto*> initializers_;
  std::unordered_map<std::string, const onnx::ValueInfoProto*> value_infos_;
  std::set<std::string> inputs_, outputs_, outer_scope_;
};

ValueType value_type_from_proto(const onnx::ValueInfoProto& info);
std::string format_shape(const ValueType& type);  // "[batch,3,224,224]" or "?" when rank is unknown

}  // namespace onnxquant
