#include "rewrite/use_rounded_weights.h"

#include <onnx/onnx_pb.h>

#include <fmt/format.h>

#include "ir/graph.h"
#include "ir/model.h"
#include "ir/tensor_proto.h"

namespace onnxquant {

namespace {

const RoundedWeight* usable(const TensorDecision& d, const RoundedWeights& rounded) {
  if (d.role != TensorRole::Weight) return nullptr;
  const auto it = rounded.find(d.tensor);
  if (it == rounded.end()) return nullptr;
  const RoundedWeight& r = it->second;
  if (r.consumer_output != d.consumer_output || r.scales != d.scales || r.qmin != d.qmin || r.qmax != d.qmax) return nullptr;
  return &r;
}

}  // namespace

bool UseRoundedWeights::match(const Model&) const {
  for (const auto& d : plan_.tensors)
    if (usable(d, rounded_)) return true;
  return false;
}

PassReport UseRoundedWeights::apply(Model& model) const {
  PassReport report{name(), 0, {}};
  int stale = 0;
  std::vector<std::pair<std::string, const RoundedWeight*>> todo;
  {
    const Graph g(model.proto().graph());
    for (const auto& d : plan_.tensors) {
      if (d.role != TensorRole::Weight || !rounded_.count(d.tensor)) continue;
      const RoundedWeight* r = usable(d, rounded_);
      if (!r) {
        ++stale;
        continue;
      }
      if (g.consumers(d.tensor).size() + g.subgraph_consumers(d.tensor).size() == 1) todo.emplace_back(d.tensor, r);
    }
  }
  for (const auto& [tensor, r] : todo) {
    for (auto& init : *model.proto().mutable_graph()->mutable_initializer()) {
      if (init.name() != tensor) continue;
      const Tensor old = tensor_from_proto(init);
      if (old.shape != r->values.shape || old.dtype != DType::Float32) break;
      tensor_to_proto(r->values, tensor, init);
      ++report.changes;
      break;
    }
  }
  report.notes.push_back(fmt::format("{} weight(s) take their pre-rounded integers", report.changes));
  if (stale) report.notes.push_back(fmt::format("{} pre-rounded weight(s) were made for other scales and are rounded to nearest", stale));
  return report;
}

}  // namespace onnxquant
