// What every rewriting job (static INT8, weight-only, dynamic) proves before it writes a model: the ONNX
// checker passes, ORT loads the result and runs one sample, and that sample's outputs are compared with
// the FP32 model's. A model that fails is never written.
#pragma once
#include <string>

#include "analysis/compare.h"
#include "exec/executor.h"
#include "io/model_inputs.h"

namespace onnxquant {

class Model;

// Runs the ONNX checker. Throws VerificationError "the {what} model fails the ONNX checker: ..." with a
// hint that names the {what} rewrite as the culprit.
void check_rewritten_model(const Model& model, const std::string& what);

// The first sample of `inputs` (synthetic when no files are given) and the reference's outputs on it.
// Taken before the candidate is built, so that a job can close the reference session first: with big
// models, the float32 session and our copy of the weights would otherwise be alive at once.
struct ReferenceSample {
  NamedTensors inputs, outputs;
};
ReferenceSample reference_first_sample(Executor& reference, const InputOptions& inputs, const std::string& model_name);
// Runs the sample through `candidate` and compares every output. Throws RuntimeError when ORT refuses it.
CompareStats compare_with_reference(const ReferenceSample& reference, const Model& candidate, const ExecOptions& exec);

// Both steps at once: runs the first sample of `inputs` (synthetic when no files are given) through `reference` and
// `candidate`, and compares every output. Throws DataError when the data holds no sample, RuntimeError
// when ORT refuses the candidate.
CompareStats compare_on_first_sample(Executor& reference, const Model& candidate, const InputOptions& inputs, const ExecOptions& exec,
                                     const std::string& model_name);

}  // namespace onnxquant
