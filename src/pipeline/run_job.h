// `onnxquant run`: run a model in ONNX Runtime on real or synthetic inputs, summarize every output and
// (optionally) time it and save the outputs as .npy. The smallest proof that ORT accepts a model.
#pragma once
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "exec/executor.h"
#include "exec/latency.h"
#include "io/model_inputs.h"

namespace onnxquant {

struct RunRequest {
  std::filesystem::path model;
  InputOptions inputs;
  ExecOptions exec;
  LatencyOptions latency{.warmup = 0, .runs = 0};  // runs = 0: no timing
  std::filesystem::path save_outputs_dir;           // empty: don't save
};

struct OutputSummary {
  std::string name;
  DType dtype = DType::Undefined;
  Shape shape;  // of the last sample
  double min = 0, max = 0, mean = 0;
  int64_t nonfinite = 0;
};

struct RunResult {
  std::string model;
  int64_t samples = 0;
  double session_create_ms = 0;
  double run_seconds = 0;  // wall time inside ORT over all samples (the floor for calibration)
  std::vector<OutputSummary> outputs;  // statistics over all samples
  std::optional<LatencyStats> latency;
  std::vector<std::string> saved_files;
};

RunResult run_model(const RunRequest& request);
nlohmann::json to_json(const RunResult& result);

}  // namespace onnxquant
