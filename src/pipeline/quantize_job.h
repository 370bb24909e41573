// `onnxquant quantize --static-int8`: prepare (inline Constants to initializers, opset >= 13 with the
// version converter), plan (quant/static_planner.h: every tensor's decision and reason), rewrite from the
// plan (rewrite/quantize_weights.h, rewrite/insert_qdq.h, then dead weights removed), and prove it before
// writing: the ONNX checker passes, ORT loads the model and runs one sample, and the sample's outputs are
// compared with FP32. The fusion report says what ORT really runs in integers. Ranges come from a ranges
// file (checked against the model's SHA-256) or from calibrating on the given data first.
//
// JSON (`to_json`, printed by `onnxquant quantize --format json`): docs/json-output.md, section `quantize`.
#pragma once
#include <filesystem>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "analysis/compare.h"
#include "analysis/fusion_report.h"
#include "calib/range_methods.h"
#include "core/progress.h"
#include "exec/executor.h"
#include "io/model_inputs.h"
#include "pipeline/sensitivity_fallback.h"
#include "ir/model.h"
#include "quant/rounded_weights.h"
#include "quant/static_planner.h"
#include "rewrite/pass.h"

namespace onnxquant {

// Accuracy recovery on top of the plan, in the order they run: cross-layer equalization rewrites the float
// model before calibration (so ranges are measured on what gets quantized), Clip-aware ranges adjust the
// calibrated ranges, bias correction measures a first quantization's error, and the FP32 fallback
// measures each layer's cost. Defaults are what measured best on the corpus (README, "Static INT8
// accuracy"): equalization and bias correction did not improve eval fidelity with per-channel weights,
// so they are opt-in.
enum class StaticWeightRounding {
  Auto,     // GPTQ (pipeline/static_weight_rounding.h) when calibration data is given, else nearest
  Nearest,  // round-to-nearest
};

struct AccuracyOptions {
  bool clip_ranges = true;       // calib/clip_to_consumers.h (exact: the Q saturates where the Clip does)
  StaticWeightRounding rounding = StaticWeightRounding::Auto;
  int64_t rounding_samples = 32;      // first calibration samples GPTQ's input statistics come from
  int64_t rounding_rows_per_sample = 256;
  bool equalize = false;         // rewrite/equalize_cross_layer.h; needs calibration data (not --ranges)
  int64_t equalize_samples = 16; // calibration samples the links' per-channel ranges are measured on
  bool bias_correction = false;  // pipeline/bias_correction.h; needs calibration data
  int64_t bias_correction_samples = 16;  // first calibration samples the mean output shift is measured on
  int bias_correction_layers_per_step = 1;
  // --target-cosine: return the most sensitive layers to FP32 until the outputs' mean cosine against
  // FP32 on held-out calibration samples reaches it (pipeline/sensitivity_fallback.h). 0: off.
  double target_cosine = 0;
  int64_t fallback_samples = 8;  // samples for the sensitivity ranking, and as many (the last ones) held out
  int fallback_max_layers = 16;
};

enum class QuantizeMode {
  Write,   // rewrite, verify, write `output`
  DryRun,  // plan only: nothing rewritten, nothing written except --plan-out
};

struct QuantizeRequest {
  std::filesystem::path model;
  std::filesystem::path output;       // required for Write
  std::filesystem::path ranges_file;  // when empty, calibrate on `inputs` first
  InputOptions inputs;                // calibration data (and the verification sample)
  // Calibration method when calibrating (RangeOptions' default, MSE, as `calibrate`'s); the target
  // follows `plan.activations`.
  RangeOptions range;
  StaticPlanOptions plan;
  AccuracyOptions accuracy;
  QuantizeMode mode = QuantizeMode::Write;
  std::filesystem::path plan_out;     // empty: plan not saved
  // A validation page (validate's HTML report) of the written model against the FP32 model, on the
  // `inputs` data (up to report_samples samples, per-layer error included). Empty: no report.
  std::filesystem::path report_html;
  int64_t report_samples = 20;
  std::string command_line;           // shown in the report
  ExecOptions exec;                   // 1 intra-op thread unless set
  ProgressMode progress = ProgressMode::Auto;
};

// The rewrite alone, in memory: prepare, plan, apply. No ORT, no checks (quantize_model does those).
struct StaticQuantization {
  QuantPlan plan;
  Model model;  // the quantized model
  std::vector<PassReport> passes;
};
// `rounded`: weights rounded ahead (pipeline/static_weight_rounding.h), used where the plan's scales match.
StaticQuantization quantize_static(const Model& fp32, const std::map<std::string, Range>& ranges, const StaticPlanOptions& options = {},
                                   const RoundedWeights* rounded = nullptr);
// The same, rewriting `fp32` itself instead of a copy (for big models: one copy of the weights, not two).
StaticQuantization quantize_static(Model&& fp32, const std::map<std::string, Range>& ranges, const StaticPlanOptions& options = {},
                                   const RoundedWeights* rounded = nullptr);

struct QuantizeResult {
  std::string model, output;
  bool written = false;
  QuantizeMode mode = QuantizeMode::Write;
  std::string ranges_source;  // the ranges file read, or "calibrated"
  int64_t calibration_samples = 0;
  QuantPlan plan;
  std::vector<PassReport> passes;
  uint64_t input_bytes = 0, output_bytes = 0;
  bool equalized = false;            // cross-layer equalization changed the float model
  std::string rounding = "nearest";  // weight rounding: "gptq" or "nearest"
  int rounded_weights = 0;           // weights GPTQ rounded
  int64_t rounding_samples = 0;
  int bias_corrected_nodes = 0;      // Conv/Gemm whose float bias absorbed the measured mean shift
  int bias_correction_samples = 0;
  bool fallback_ran = false;         // --target-cosine was given and a write was asked for
  FallbackResult fallback;
  CompareStats first_sample;  // quantized vs FP32 on the verification sample, all outputs
  FusionReport fusion;
  std::string plan_out;
  std::string report;                 // the HTML page written, if any
  std::vector<std::string> notes;
};

// Throws LoadError (model, ranges file), CalibrationError (ranges for another model), UsageError (bad
// options), RuntimeError (ORT refuses the result), VerificationError (checker), IoError (writing).
// Nothing is written unless every check passed.
QuantizeResult quantize_model(const QuantizeRequest& request);
nlohmann::json to_json(const QuantizeResult& result);

}  // namespace onnxquant
