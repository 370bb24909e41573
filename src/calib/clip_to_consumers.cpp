#include "calib/clip_to_consumers.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <limits>
#include <optional>

#include "ir/graph.h"
#include "ir/model.h"

namespace onnxquant {

namespace {

using Bounds = ClipBounds;

std::optional<double> scalar(const Graph& g, const onnx::NodeProto& n, int input) {
  if (n.input_size() <= input || n.input(input).empty()) return std::nullopt;
  const auto v = g.constant_value(n.input(input));
  if (!v || v->elements() != 1 || !dtype_is_float(v->dtype)) return std::nullopt;
  return v->to_doubles().front();
}

}  // namespace

std::optional<ClipBounds> clip_bounds(const Graph& g, const onnx::NodeProto& n) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  if (!n.domain().empty()) return std::nullopt;
  if (n.op_type() == "Relu") return Bounds{0, inf};
  if (n.op_type() != "Clip") return std::nullopt;
  Bounds b{-inf, inf};
  for (const auto& a : n.attribute()) {  // opset < 11
    if (a.name() == "min") b.lo = a.f();
    if (a.name() == "max") b.hi = a.f();
  }
  for (int k = 1; k <= 2; ++k) {
    if (n.input_size() <= k || n.input(k).empty()) continue;
    const auto v = scalar(g, n, k);
    if (!v) return std::nullopt;
    (k == 1 ? b.lo : b.hi) = *v;
  }
  return b;
}

int clip_ranges_to_consumers(const Model& model, std::map<std::string, Range>& ranges) {
  const Graph g(model.proto().graph());
  int changed = 0;
  // Tensors read only by Clip/Relu that calibration skipped (they are never quantized on their own):
  // every tensor is considered, not only those with a range.
  for (int i = 0; i < g.node_count(); ++i)
    for (const auto& tensor : g.node(i).output()) {
      if (tensor.empty() || g.is_graph_output(tensor) || !g.subgraph_consumers(tensor).empty()) continue;
      const auto& consumers = g.consumers(tensor);
      if (consumers.empty()) continue;
      // The union of what the consumers let through, and of the ranges their outputs were calibrated to.
      std::optional<Bounds> pass;
      std::optional<Range> outputs = Range{0, 0};
      for (int c : consumers) {
        const auto& n = g.node(c);
        const auto b = clip_bounds(g, n);
        if (!b || n.input(0) != tensor) {
          pass.reset();
          break;
        }
        pass = pass ? Bounds{std::min(pass->lo, b->lo), std::max(pass->hi, b->hi)} : *b;
        const auto out = ranges.find(n.output(0));
        if (out == ranges.end()) outputs.reset();
        else if (outputs) outputs = Range{std::min(outputs->min, out->second.min), std::max(outputs->max, out->second.max)};
      }
      if (!pass) continue;
      const auto own = ranges.find(tensor);
      if (own == ranges.end()) {
        // Q(t) over the readers' output range, then the Clip, equals the Clip then that Q: the clip
        // bounds contain the readers' outputs, so nothing the Clip keeps is cut.
        if (!outputs) continue;
        ranges[tensor] = *outputs;
        ++changed;
        continue;
      }
      const Range cut{std::max(own->second.min, std::min(pass->lo, 0.0)), std::min(own->second.max, std::max(pass->hi, 0.0))};
      if (cut == own->second || cut.min > cut.max) continue;
      own->second = cut;
      ++changed;
    }
  return changed;
}

}  // namespace onnxquant
