#include "rewrite/qdq_nodes.h"

#include <onnx/onnx_pb.h>

#include "core/errors.h"
#include "ir/tensor_proto.h"

namespace onnxquant {

QParamNames add_qparam_initializers(onnx::GraphProto& graph, NameAllocator& names, const std::string& base, const TensorDecision& d) {
  if (d.scales.empty() || d.scales.size() != d.zero_points.size())
    throw InternalError("plan for '" + d.tensor + "' has " + std::to_string(d.scales.size()) + " scales and " +
                        std::to_string(d.zero_points.size()) + " zero points");
  const Shape shape = d.granularity == Granularity::PerChannel ? Shape{static_cast<int64_t>(d.scales.size())} : Shape{};
  Tensor scale(DType::Float32, shape);
  for (size_t i = 0; i < d.scales.size(); ++i) scale.as<float>()[i] = static_cast<float>(d.scales[i]);
  Tensor zp(d.dtype, shape);
  for (size_t i = 0; i < d.zero_points.size(); ++i) {
    switch (d.dtype) {
      case DType::UInt8: zp.as<uint8_t>()[i] = static_cast<uint8_t>(d.zero_points[i]); break;
      case DType::Int8: zp.as<int8_t>()[i] = static_cast<int8_t>(d.zero_points[i]); break;
      case DType::Int32: zp.as<int32_t>()[i] = d.zero_points[i]; break;
      default: throw InternalError("no quantized form for dtype " + dtype_name(d.dtype) + " of '" + d.tensor + "'");
    }
  }
  QParamNames out{names.unique(base + "_scale"), names.unique(base + "_zero_point")};
  tensor_to_proto(scale, out.scale, *graph.add_initializer());
  tensor_to_proto(zp, out.zero_point, *graph.add_initializer());
  return out;
}

onnx::NodeProto make_qdq_node(const std::string& op_type, const std::string& name, const std::string& input, const QParamNames& params,
                              const std::string& output, std::optional<int64_t> axis) {
  onnx::NodeProto n;
  n.set_op_type(op_type);
  n.set_name(name);
  n.add_input(input);
  n.add_input(params.scale);
  n.add_input(params.zero_point);
  n.add_output(output);
  if (axis) {
    auto* a = n.add_attribute();
    a->set_name("axis");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(*axis);
  }
  return n;
}

}  // namespace onnxquant
