// Rule: a tensor read only by Clip / Relu nodes never shows its values outside the clip bounds to anyone,
// so its quantization range can be cut to them: [max(min, lo), min(max, hi)] (still holding 0). The
// QuantizeLinear then saturates exactly where the Clip would, and the levels the calibrated range spent on
// values the Clip throws away go to the values it keeps. This matters where the planner cannot fold the
// clip into its producer: Conv -> Clip(0, 6) (Relu6) gets its Q on the Conv output, whose calibrated range
// can be several times [0, 6] (mobilenet_v2: a Conv output over [-30, 25] leaves 30 of 256 levels for
// the [0, 6] that the next layer reads).
//
// A tensor read only by Clip/Relu that has no range of its own (calibration skips them: they are never
// quantized unless the planner puts a Q on a Conv output in front of a Clip) gets the union of its
// readers' output ranges: Q over that range then the Clip equals the Clip then the same Q, since the
// readers' outputs lie inside the clip bounds. Without it a Conv -> Clip stays float.
#pragma once
#include <map>
#include <optional>
#include <string>

#include "quant/quant_params.h"

namespace onnx {
class NodeProto;
}

namespace onnxquant {

class Model;
class Graph;

// The interval a Relu or Clip node lets through (constant bounds; +-inf where unbounded); nullopt for any
// other node or a Clip whose bound is computed.
struct ClipBounds {
  double lo, hi;
};
std::optional<ClipBounds> clip_bounds(const Graph& graph, const onnx::NodeProto& node);

// Returns how many ranges were narrowed or added. Clip bounds must be constants (initializers, Constant nodes or,
// before opset 11, attributes); a Clip with a computed bound leaves its input's range alone.
int clip_ranges_to_consumers(const Model& model, std::map<std::string, Range>& ranges);

}  // namespace onnxquant
