// Load-time check of every stored tensor (initializers and Constant values, in all subgraphs): the
// element count its dims declare must match the data it holds. Without it, a 64-byte initializer declaring
// 2^40 elements reaches inspect (terabytes of "parameters"), the planners and ORT; with it the model is
// refused at load, naming the tensor, before anything allocates from the declared size.
#pragma once
#include <string>

namespace onnx {
class GraphProto;
class TensorProto;
}  // namespace onnx

namespace onnxquant {

// Throws LoadError "<where>: ..." when the dims are negative, overflow, or disagree with the stored data.
// Types whose storage onnxquant does not know are not judged. External data must already be loaded.
void check_tensor_data(const onnx::TensorProto& tensor, const std::string& where);

// check_tensor_data on every initializer and tensor attribute of `graph` and its subgraphs; `origin`
// (the model file) starts each message.
void check_all_tensor_data(const onnx::GraphProto& graph, const std::string& origin);

}  // namespace onnxquant
