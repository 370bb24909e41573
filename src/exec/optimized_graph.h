// The graph ORT really runs: ORT applies its fusions (QDQ -> QLinearConv, Conv+Relu, ...) at session
// creation and can save the result. Counting ops in it is how the fusion report tells what fused.
#pragma once
#include "exec/executor.h"

namespace onnxquant {

class Model;

// Creates a session with the given options (level All by default) and returns ORT's optimized model.
Model optimized_graph(const Model& model, ExecOptions options = {});

}  // namespace onnxquant
