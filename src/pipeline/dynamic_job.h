// `onnxquant quantize --dynamic`: int8 weights and run-time uint8 activations for MatMul / Gemm
// (quant/dynamic_planner.h, rewrite/dynamic_quant.h), like ORT's quantize_dynamic. Prepare (Constants
// to initializers, opset >= 13), plan, rewrite, drop dead float weights, then prove before writing: the
// ONNX checker passes, ORT loads and runs the model on one sample and it is compared with FP32, and the
// fusion report counts the DynamicQuantizeMatMul / MatMulIntegerToFloat kernels ORT really runs.
//
// JSON: docs/json-output.md, section `quantize --weights-only / --dynamic`.
#pragma once
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "analysis/compare.h"
#include "core/progress.h"
#include "exec/executor.h"
#include "io/model_inputs.h"
#include "ir/model.h"
#include "pipeline/quantize_job.h"
#include "quant/dynamic_planner.h"
#include "rewrite/pass.h"

namespace onnxquant {

struct DynamicRequest {
  std::filesystem::path model;
  std::filesystem::path output;
  DynamicOptions plan;
  InputOptions inputs;  // the verification sample (synthetic when empty)
  QuantizeMode mode = QuantizeMode::Write;
  std::filesystem::path plan_out;
  ExecOptions exec;
};

struct DynamicQuantization {
  DynamicPlan plan;
  Model model;
  std::vector<PassReport> passes;
};
DynamicQuantization quantize_dynamic(const Model& fp32, const DynamicOptions& options = {});

struct DynamicResult {
  std::string model, output;
  bool written = false;
  QuantizeMode mode = QuantizeMode::Write;
  DynamicPlan plan;
  std::vector<PassReport> passes;
  uint64_t input_bytes = 0, output_bytes = 0;
  CompareStats first_sample;
  int64_t fused = 0;  // DynamicQuantizeMatMul + MatMulIntegerToFloat kernels in ORT's optimized graph
  std::string runtime_version;
  std::string plan_out;
  std::vector<std::string> notes;
};

DynamicResult quantize_model_dynamic(const DynamicRequest& request);
nlohmann::json to_json(const DynamicResult& result);

}  // namespace onnxquant
