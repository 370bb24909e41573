#include "ir/shape_inference.h"

#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "ir/model.h"

namespace onnxquant {

std::string infer_shapes(Model& model) {
  // check_type off and error_mode 0: keep going past nodes ONNX cannot infer (custom domains, dynamic
  // shapes), so the rest of the graph still gets types. Data propagation resolves Shape->Gather->Concat
  // chains that feed Reshape, common in PyTorch and Paddle exports.
  onnx::ShapeInferenceOptions options(false, 0, true);
  try {
    onnx::shape_inference::InferShapes(model.proto(), onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

}  // namespace onnxquant
