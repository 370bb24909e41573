// `onnxquant calibrate`: run the model on calibration data in ONNX Runtime with every float tensor that
// quantization may need exposed as an output, feed each tensor's values to its observer, and select a
// range per tensor. Streams: one sample is observed while ORT computes the next, and no activation is
// kept after it is observed, so memory stays flat in the sample count. The product is a ranges file.
#pragma once
#include <filesystem>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "calib/calibration_tensors.h"
#include "calib/ranges_file.h"
#include "core/progress.h"
#include "exec/executor.h"
#include "io/model_inputs.h"

namespace onnxquant {

// Calibration samples handed over in memory instead of read from files: the Python module's NumPy
// arrays and user data loaders. `next` is called until it returns nullopt; each sample is checked against
// the model's inputs by the executor, as a file's would be.
struct SampleProvider {
  std::function<std::optional<NamedTensors>()> next;
  int64_t count = -1;  // samples it will yield, for progress; -1 when unknown (a generator)
};

struct CalibrateRequest {
  std::filesystem::path model;
  InputOptions inputs;            // calibration data (synthetic when none is given)
  // When set, replaces the data `inputs` describes (its files must then be empty; max_samples still
  // limits the count).
  SampleProvider samples;
  RangeOptions range;             // method, target and method parameters
  ExecOptions exec;               // ORT threads for inference (default 1: the observer runs beside it)
  std::filesystem::path output;   // ranges file; empty: not written
  SaveRangesOptions save;         // histograms in the file or not
  TensorCoverage coverage = TensorCoverage::Quantizable;
  // A model whose exposed activations exceed this per sample runs in segments of about this size
  // (calib/segmented_runner.h), which bounds the memory one sample needs.
  int64_t segment_budget_bytes = int64_t{64} << 20;
  ProgressMode progress = ProgressMode::Auto;
};

struct CalibrateResult {
  RangesFile ranges;
  int64_t samples = 0;
  int64_t tensors_observed = 0;
  int64_t segments = 1;          // the model ran in this many segments
  double seconds = 0;            // wall time of the calibration loop (model runs + observing)
  double inference_seconds = 0;  // part of it spent inside ORT
  uint64_t peak_rss_bytes = 0;   // of the whole process, at the end
  std::vector<std::string> constant_tensors;  // observed a single value: range [min(0,c), max(0,c)]
  std::string output;            // the file written, if any
};

CalibrateResult calibrate_model(const CalibrateRequest& request);
nlohmann::json to_json(const CalibrateResult& result);

}  // namespace onnxquant
