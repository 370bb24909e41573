// The `quantize` modes beside static INT8: --weights-only and --dynamic. Their options and output live
// here; cli/quantize.cpp only requires exactly one mode and dispatches. Options both modes share with
// static INT8 (-o, -i and the data options, --exclude, --dry-run, --plan-out, --per-tensor, --threads)
// are parsed once by quantize.cpp and handed over in `SharedQuantizeOptions`.
#pragma once
#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <vector>

#include "cli/command.h"
#include "exec/executor.h"
#include "io/model_inputs.h"
#include "pipeline/layer_hessians.h"
#include "quant/weight_only_planner.h"

namespace onnxquant::cli {

struct QuantizeModeOptions {
  bool weights_only = false;
  bool dynamic = false;
  WeightOnlyOptions weights;
  bool asymmetric = false;
  bool dynamic_per_channel = false;
  std::vector<std::string> bits_for;  // NAME=BITS
  std::string rounding = "auto";      // auto (GPTQ with -i) or nearest
  int64_t gptq_rows = 256;
  std::string gptq_stages = "auto";  // auto, or a stage count (0: one per layer)
};

struct SharedQuantizeOptions {
  std::string model, output;
  InputOptions inputs;
  std::vector<std::string> exclude;
  std::string plan_out;
  bool dry_run = false;
  bool per_tensor = false;
  ExecOptions exec;
};

void add_quantize_mode_options(CLI::App* cmd, QuantizeModeOptions& options);
// Runs --weights-only or --dynamic; returns the exit code.
int run_quantize_mode(const QuantizeModeOptions& options, const SharedQuantizeOptions& shared, const GlobalOptions& global);

}  // namespace onnxquant::cli
