// Which tensors calibration observes: every float32 tensor quantization may need a range for.
#pragma once
#include <string>
#include <vector>

namespace onnxquant {

class Model;

// Float tensors of the main graph worth observing: graph inputs and node outputs whose type is float32
// (or unknown to ONNX's shape inference; the executor settles those at run time), in topological order.
// Constant-node outputs are weights, not activations, and are skipped.
struct CalibrationTensors {
  std::vector<std::string> graph_inputs;  // observed straight from the data
  std::vector<std::string> node_outputs;  // exposed as extra outputs so one ORT run yields them
};
// Runs ONNX shape inference on `model` in place (it only adds value_info), so no second copy of the
// weights is made for a large model.
CalibrationTensors calibration_tensors(Model& model);

}  // namespace onnxquant
