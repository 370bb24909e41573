// Conversions between onnx::TensorProto (any of its storage fields) and the host Tensor.
#pragma once
#include <string>

#include "core/tensor.h"

namespace onnx {
class TensorProto;
}

namespace onnxquant {

// Reads raw_data or the typed repeated fields; checks that the data matches the declared shape before
// allocating. Throws DataError naming the tensor. External data must have been loaded already.
Tensor tensor_from_proto(const onnx::TensorProto& proto);
// Always writes raw_data (little endian), the compact form every runtime reads.
void tensor_to_proto(const Tensor& tensor, const std::string& name, onnx::TensorProto& proto);

}  // namespace onnxquant
