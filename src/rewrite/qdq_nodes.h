// Building blocks shared by the passes that apply a QuantPlan: the scale / zero-point initializers of a
// planned tensor and the QuantizeLinear / DequantizeLinear nodes that read them.
#pragma once
#include <optional>
#include <string>

#include "quant/quant_plan.h"
#include "rewrite/name_allocator.h"

namespace onnx {
class GraphProto;
class NodeProto;
}  // namespace onnx

namespace onnxquant {

struct QParamNames {
  std::string scale, zero_point;
};

// Adds `<base>_scale` (float32, stored as float from the plan's doubles) and `<base>_zero_point` (of the
// decision's dtype) as initializers: scalars for per-tensor, 1-D [channels] for per-channel.
QParamNames add_qparam_initializers(onnx::GraphProto& graph, NameAllocator& names, const std::string& base, const TensorDecision& d);

// A QuantizeLinear / DequantizeLinear node (default domain, opset >= 13 for `axis`); not added to a graph.
onnx::NodeProto make_qdq_node(const std::string& op_type, const std::string& name, const std::string& input, const QParamNames& params,
                              const std::string& output, std::optional<int64_t> axis = std::nullopt);

}  // namespace onnxquant
