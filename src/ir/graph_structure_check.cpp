#include "ir/graph_structure_check.h"

#include <onnx/onnx_pb.h>

#include <unordered_map>
#include <unordered_set>

#include "core/errors.h"
#include "ir/graph.h"

namespace onnxquant {

namespace {

std::string describe(const onnx::NodeProto& node, int index) {
  const std::string name = node.name().empty() ? "#" + std::to_string(index) : "'" + node.name() + "'";
  return "node " + name + " (" + node.op_type() + ")";
}

// `outer`: names visible from enclosing graphs; `prefix`: the file and, for a subgraph, where it sits.
void check(const onnx::GraphProto& g, const std::set<std::string>& outer, const std::string& prefix) {
  std::unordered_set<std::string> declared;
  for (const auto& v : g.input()) declared.insert(v.name());
  for (const auto& t : g.initializer()) declared.insert(t.name());
  std::unordered_map<std::string, int> producer;
  for (int i = 0; i < g.node_size(); ++i)
    for (const auto& out : g.node(i).output()) {
      if (out.empty()) continue;  // an optional output left unused
      if (declared.count(out))
        throw LoadError(prefix + "tensor '" + out + "' is both a graph input or initializer and the output of " + describe(g.node(i), i));
      auto [it, first] = producer.try_emplace(out, i);
      if (!first)
        throw LoadError(prefix + "tensor '" + out + "' is produced twice: by " + describe(g.node(it->second), it->second) + " and by " +
                        describe(g.node(i), i));
    }
  for (const auto& o : g.output())
    if (!producer.count(o.name()) && !declared.count(o.name()) && !outer.count(o.name()))
      throw LoadError(prefix + "graph output '" + o.name() + "' is not produced by any node, input or initializer");
  const Graph graph(g, outer);
  try {
    graph.topological_order();  // names a cycle or a tensor read but never produced
  } catch (const LoadError& e) {
    throw LoadError(prefix + e.what());
  }
  if (graph.subgraphs().empty()) return;
  std::set<std::string> visible = outer;
  visible.insert(declared.begin(), declared.end());
  for (const auto& [name, index] : producer) visible.insert(name);
  for (const auto& sub : graph.subgraphs())
    check(*sub.graph, visible, prefix + "in subgraph '" + sub.attribute + "' of " + describe(g.node(sub.node), sub.node) + ": ");
}

}  // namespace

void check_graph_structure(const onnx::GraphProto& graph, const std::string& origin) { check(graph, {}, origin + ": "); }

}  // namespace onnxquant
