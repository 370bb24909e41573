#include "rewrite/rename.h"

#include <onnx/onnx_pb.h>

namespace onnxquant {

namespace {

// Names a graph defines itself: a subgraph's own definitions shadow the outer names.
std::unordered_map<std::string, std::string> without_shadowed(const onnx::GraphProto& sub,
                                                              const std::unordered_map<std::string, std::string>& renames) {
  auto visible = renames;
  for (const auto& v : sub.input()) visible.erase(v.name());
  for (const auto& t : sub.initializer()) visible.erase(t.name());
  for (const auto& n : sub.node())
    for (const auto& o : n.output()) visible.erase(o);
  return visible;
}

int rename_in(onnx::GraphProto& g, const std::unordered_map<std::string, std::string>& renames, bool rename_outputs) {
  if (renames.empty()) return 0;
  int changed = 0;
  for (auto& n : *g.mutable_node()) {
    for (auto& in : *n.mutable_input())
      if (auto it = renames.find(in); it != renames.end()) { in = it->second; ++changed; }
    for (auto& attr : *n.mutable_attribute()) {
      auto nested = [&](onnx::GraphProto& sub) { changed += rename_in(sub, without_shadowed(sub, renames), true); };
      if (attr.has_g()) nested(*attr.mutable_g());
      for (auto& sub : *attr.mutable_graphs()) nested(sub);
    }
  }
  // A subgraph output may be an outer tensor passed straight through; main graph outputs keep their names.
  if (rename_outputs)
    for (auto& o : *g.mutable_output())
      if (auto it = renames.find(o.name()); it != renames.end()) { o.set_name(it->second); ++changed; }
  return changed;
}

}  // namespace

int rename_uses(onnx::GraphProto& graph, const std::unordered_map<std::string, std::string>& renames) {
  return rename_in(graph, renames, false);
}

}  // namespace onnxquant
