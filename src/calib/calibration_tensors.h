// Which tensors calibration observes: every float32 tensor quantization may need a range for.
#pragma once
#include <string>
#include <vector>

namespace onnxquant {

class Model;

// Float tensors of the main graph worth observing: graph inputs and node outputs whose type is float32
// (or unknown to ONNX's shape inference; the executor settles those at run time), in topological order.
// Constant-node outputs are weights, not activations, and are skipped.
// Which intermediate tensors to observe. Quantizable skips a tensor whose only reader is a Relu or Clip:
// a quantized model places its QuantizeLinear after the activation, where ORT folds the activation into
// the producing integer kernel, so the pre-activation range is never used. Skipping it also lets ORT
// fuse Conv+Relu during calibration (faster) and halves the activations held per sample. All observes
// every float tensor (for planners that keep activations out of the integer region).
enum class TensorCoverage { Quantizable, All };

struct CalibrationTensors {
  std::vector<std::string> graph_inputs;  // observed straight from the data
  std::vector<std::string> node_outputs;  // exposed as extra outputs so one ORT run yields them
};
// Runs ONNX shape inference on `model` in place (it only adds value_info), so no second copy of the
// weights is made for a large model.
CalibrationTensors calibration_tensors(Model& model, TensorCoverage coverage = TensorCoverage::Quantizable);

}  // namespace onnxquant
