// `onnxquant validate REFERENCE CANDIDATE`: the proof that comes with every quantized (or cast) model.
// Both models run on the same samples; per output the agreement (cosine mean/min over samples, SQNR, max
// and mean absolute error, top-1/top-k when the output holds class scores); both are timed interleaved
// (benchmark_job.h: measure_paired); the candidate's fusion report says what ORT runs in integers; with
// per_layer, every shared intermediate tensor is compared (analysis/per_layer.h); a verdict sums it up
// (analysis/verdict.h). With report_html, the same facts go to a self-contained HTML page.
//
// The models must agree on their interface: the same input names with the same fixed dims, and the same
// output names. Input element types may differ between float types (a float16 model with float16 inputs):
// the candidate then gets the same values converted, and a note says so. Anything else is a DataError
// naming what differs.
#pragma once
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "analysis/fusion_report.h"
#include "analysis/per_layer.h"
#include "analysis/verdict.h"
#include "core/progress.h"
#include "exec/executor.h"
#include "exec/latency.h"
#include "io/model_inputs.h"
#include "pipeline/benchmark_job.h"

namespace onnxquant {

enum class PerLayer { Off, On };

struct ValidateRequest {
  std::filesystem::path reference;  // the FP32 model
  std::filesystem::path candidate;  // the quantized / cast model
  InputOptions inputs;              // matched against the reference's inputs
  ExecOptions exec;                 // 1 intra-op thread unless set
  LatencyOptions latency{.warmup = 3, .runs = 20};  // runs = 0: no timing
  PerLayer per_layer = PerLayer::Off;
  std::optional<int64_t> classes_axis;  // class-score axis for top-k; default: rank-2 [batch, classes] outputs
  std::optional<double> mask_threshold;  // also compare the masks output > this (OutputMetrics::mask)
  double fail_below = 0;                // > 0: `passed` is false when the verdict's cosine is below it
  std::filesystem::path report_html;    // empty: no HTML page
  std::string command_line;             // shown in the HTML page
  ProgressMode progress = ProgressMode::Auto;  // a progress line on a terminal while samples run
};

struct ValidateResult {
  std::string reference, candidate;
  int64_t samples = 0;
  bool synthetic_inputs = false;
  std::vector<OutputMetrics> outputs;  // in the reference's output order
  Verdict verdict;
  std::optional<PairedLatency> latency;  // a = reference, b = candidate; speedup > 1: candidate faster
  int threads = 1;
  uint64_t reference_bytes = 0, candidate_bytes = 0;
  double size_ratio = 0;  // candidate / reference
  FusionReport fusion;    // of the candidate
  std::optional<std::vector<LayerError>> per_layer;  // worst first
  double fail_below = 0;
  bool passed = true;
  std::vector<std::string> notes;
  std::string runtime_version;
  std::string command_line;
  std::string report_html;  // path written, "" when none
};

// Throws LoadError (a model file), RuntimeError (ORT refuses or fails to run a model, named), DataError
// (interfaces differ, data fits neither model), IoError (report).
ValidateResult validate_models(const ValidateRequest& request);
nlohmann::json to_json(const ValidateResult& result);

// Writes the HTML page for a result atomically (temp file + rename). `quantize --report` calls this too.
void write_validation_report(const ValidateResult& result, const std::filesystem::path& path);

}  // namespace onnxquant
