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

ReferenceSample reference_first_sample(Executor& reference, const InputOptions& inputs, const std::string& model_name) {
  InputOptions one = inputs;
  one.max_samples = 1;
  one.shuffle = false;
  std::vector<NamedTensors> samples = load_model_inputs(reference.inputs(), one);
  if (samples.empty()) throw DataError(model_name + ": no input sample to verify the quantized model with");
  ReferenceSample r;
  r.outputs = reference.run(samples.front());
  r.inputs = std::move(samples.front());
  return r;
}

CompareStats compare_with_reference(const ReferenceSample& reference, const Model& candidate, const ExecOptions& exec) {
  Executor quantized(candidate, exec);
  const NamedTensors got = quantized.run(reference.inputs);
  CompareAccumulator acc;
  for (const auto& [name, t] : reference.outputs) acc.add(t, got.at(name), name);
  return acc.stats();
}

CompareStats compare_on_first_sample(Executor& reference, const Model& candidate, const InputOptions& inputs, const ExecOptions& exec,
                                     const std::string& model_name) {
  return compare_with_reference(reference_first_sample(reference, inputs, model_name), candidate, exec);
}

}  // namespace onnxquant
