#include "pipeline/verify_rewrite.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include "core/errors.h"
#include "ir/model.h"

namespace onnxquant {

void check_rewritten_model(const Model& model, const std::string& what) {
  try {
    onnx::checker::check_model(model.proto());
  } catch (const std::exception& e) {
    const std::string message = e.what();
    throw VerificationError("the " + what + " model fails the ONNX checker: " + message.substr(0, message.find('\n')),
                            "this is a bug in onnxquant's " + what + " rewrite; please report it with the model");
  }
}

CompareStats compare_on_first_sample(Executor& reference, const Model& candidate, const InputOptions& inputs, const ExecOptions& exec,
                                     const std::string& model_name) {
  InputOptions one = inputs;
  one.max_samples = 1;
  one.shuffle = false;
  const std::vector<NamedTensors> samples = load_model_inputs(reference.inputs(), one);
  if (samples.empty()) throw DataError(model_name + ": no input sample to verify the quantized model with");
  Executor quantized(candidate, exec);
  const NamedTensors want = reference.run(samples.front());
  const NamedTensors got = quantized.run(samples.front());
  CompareAccumulator acc;
  for (const auto& [name, t] : want) acc.add(t, got.at(name), name);
  return acc.stats();
}

}  // namespace onnxquant
