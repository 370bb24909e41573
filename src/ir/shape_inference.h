// ONNX shape inference over the whole model (value_info filled where ONNX can tell). Best effort:
// ONNX's inference stops at ops it cannot reason about; the model is left valid either way.
#pragma once
#include <string>

namespace onnxquant {

class Model;

// Returns an empty string on success, else ONNX's message (the model keeps what was inferred before).
std::string infer_shapes(Model& model);

}  // namespace onnxquant
