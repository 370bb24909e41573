// `onnxquant quantize --weights-only`: weights stored as int8 / int4 and dequantized in front of their
// op (the model still computes in float), or 4-bit MatMul weights packed into ORT's MatMulNBits.
// Stages: prepare (Constants to initializers; opset 13, or 21 when 4-bit DequantizeLinear is planned:
// the version converter to 16, then rewrite/upgrade_opset_past_converter.h), plan
// (quant/weight_only_planner.h), values (round-to-nearest, or with calibration data GPTQ from each
// layer's input statistics: pipeline/layer_hessians.h, quant/gptq.h), rewrite
// (rewrite/quantize_weights_only.h), dead float weights removed, then proof before writing: no
// quantized weight may survive in float, the ONNX checker passes (ONNX 1.12 knows opsets up to 17;
// opset-21 models are checked by ORT 1.30's loader, which validates against its newer schemas, and the
// result says so), ORT loads and runs the model on one sample and it is compared with FP32.
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
#include "pipeline/layer_hessians.h"
#include "pipeline/quantize_job.h"
#include "quant/weight_only_planner.h"
#include "rewrite/pass.h"

namespace onnxquant {

enum class WeightRounding {
  Auto,     // GPTQ when calibration data is given, round-to-nearest otherwise
  Nearest,  // round-to-nearest even with data (the data only verifies)
  Hqq,      // data-free: each group's scale and zero point fitted under an lp norm (quant/hqq.h)
};

struct WeightOnlyRequest {
  std::filesystem::path model;
  std::filesystem::path output;
  WeightOnlyOptions plan;
  InputOptions inputs;  // calibration data for GPTQ (and the verification sample)
  WeightRounding rounding = WeightRounding::Auto;
  int64_t gptq_samples = 32;  // when -n is not given
  HessianOptions hessian = [] {
    HessianOptions h;
    h.stages = kGptqStagesAuto;
    return h;
  }();
  // auto tries per-layer stages too only up to this model size: they cost 4-6x the one-stage time
  // (resnet50, 98 MiB, 2 cores: one stage 71 s, per layer 437 s), and one stage already leaves 0.30x of
  // round-to-nearest's loss there (per layer 0.28x).
  uint64_t auto_stages_max_bytes = uint64_t{64} << 20;
  QuantizeMode mode = QuantizeMode::Write;
  std::filesystem::path plan_out;
  ExecOptions exec;
  ProgressMode progress = ProgressMode::Auto;
};

struct GptqSummary {
  int64_t compensated = 0;       // weights rounded towards a target correcting their input's error (stage by stage only)
  int64_t corrected_biases = 0;  // float biases shifted by the mean output error (stage by stage only)
  int64_t weights = 0, samples = 0, stages = 0, rounds = 0, columns = 0, dead_columns = 0, fallback_blocks = 0;
  int64_t scale_units = 0, rescaled_units = 0;  // scales searched (rows, or tensors), and those moved off min/max
  std::vector<std::string> unsupported;  // weights left to round-to-nearest, with why
};

// `--gptq-stages auto`: both ways were tried when `tried`, and each result judged by the mean cosine of
// its outputs against FP32's on the calibration samples; `kept` is "one_stage" or "per_layer".
struct GptqStageChoice {
  bool tried = false;
  double one_stage_cosine = 0, per_layer_cosine = 0;
  std::string kept;
  std::string why_not_tried;  // when auto did not try both (the model is too big for the extra passes)
};

struct HqqSummary {
  int64_t weights = 0, elements = 0, groups = 0, improved_groups = 0;  // groups: scales fitted; improved: moved off min/max
  double rtn_mean_abs_error = 0, hqq_mean_abs_error = 0;  // |w - dequantized|, over every quantized element
};

// The rewrite alone, in memory (no ORT checks). With `calibration`, GPTQ (unless `rounding` says
// otherwise); without, round-to-nearest or HQQ.
struct WeightOnlyQuantization {
  WeightOnlyPlan plan;
  Model model;
  std::vector<PassReport> passes;
  std::string rounding;  // "nearest", "gptq" or "hqq"
  GptqSummary gptq;
  HqqSummary hqq;
};
WeightOnlyQuantization quantize_weights_only(const Model& fp32, const WeightOnlyOptions& options, const std::vector<NamedTensors>& calibration = {},
                                             const HessianOptions& hessian = {}, WeightRounding rounding = WeightRounding::Auto);
// The same, rewriting `fp32` itself instead of a copy (for big models: one copy of the weights, not two).
WeightOnlyQuantization quantize_weights_only(Model&& fp32, const WeightOnlyOptions& options, const std::vector<NamedTensors>& calibration = {},
                                             const HessianOptions& hessian = {}, WeightRounding rounding = WeightRounding::Auto);

struct WeightOnlyResult {
  std::string model, output;
  bool written = false;
  QuantizeMode mode = QuantizeMode::Write;
  WeightOnlyPlan plan;
  std::vector<PassReport> passes;
  std::string rounding;
  GptqSummary gptq;
  GptqStageChoice stage_choice;
  HqqSummary hqq;
  int64_t opset = 0;
  std::string checker;  // "passed" or why it was not applicable
  uint64_t input_bytes = 0, output_bytes = 0;
  CompareStats first_sample;
  std::string plan_out;
  std::vector<std::string> notes;
};

// Throws LoadError, UsageError, UnsupportedOpError (opset upgrade), RuntimeError (ORT refuses the
// result), VerificationError (checker, a weight left in float twice), IoError. Nothing is written unless
// every check passed.
WeightOnlyResult quantize_model_weights_only(const WeightOnlyRequest& request);
nlohmann::json to_json(const WeightOnlyResult& result);

}  // namespace onnxquant
