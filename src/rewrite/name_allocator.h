// Fresh names for tensors and nodes a pass adds: never equal to any name the graph (or its subgraphs,
// whose names can shadow or capture outer ones) already uses, nor to one handed out before.
#pragma once
#include <set>
#include <string>

namespace onnx {
class GraphProto;
}

namespace onnxquant {

class NameAllocator {
 public:
  // Collects every node, tensor, initializer, input, output and value_info name of `graph`, nested too.
  explicit NameAllocator(const onnx::GraphProto& graph);
  // `base` itself when free, else `base_1`, `base_2`, ...; the result is reserved.
  std::string unique(const std::string& base);

 private:
  std::set<std::string> used_;
};

}  // namespace onnxquant
