#include "rewrite/name_allocator.h"

#include <onnx/onnx_pb.h>

#include "ir/graph_walk.h"

namespace onnxquant {

NameAllocator::NameAllocator(const onnx::GraphProto& graph) {
  for_each_graph(graph, [&](const onnx::GraphProto& g) {
    for (const auto& v : g.input()) used_.insert(v.name());
    for (const auto& v : g.output()) used_.insert(v.name());
    for (const auto& v : g.value_info()) used_.insert(v.name());
    for (const auto& t : g.initializer()) used_.insert(t.name());
    for (const auto& n : g.node()) {
      used_.insert(n.name());
      for (const auto& s : n.input()) used_.insert(s);
      for (const auto& s : n.output()) used_.insert(s);
    }
  });
}

std::string NameAllocator::unique(const std::string& base) {
  std::string name = base;
  for (int i = 1; used_.count(name); ++i) name = base + "_" + std::to_string(i);
  used_.insert(name);
  return name;
}

}  // namespace onnxquant
