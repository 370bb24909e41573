// Input statistics for GPTQ: for every weight a WeightOnlyPlan quantizes (Conv 2-D, Gemm with transA=0,
// MatMul with a 2-D weight), the second moment H = sum x x^T of the rows the weight multiplies, taken
// from running the FP32 model on calibration samples (the layer inputs are exposed as extra outputs).
// A Conv row is one output position's receptive field in the weight's (in-channel, ky, kx) order, per
// group; a MatMul/Gemm row is one row of its [..., K] input. At most `max_rows_per_sample` rows per
// sample and layer are used, evenly spaced (the first layers of a CNN have 12544 positions per image).
// Layers are collected in rounds whose Hessians fit `memory_budget_bytes`, so memory stays bounded on
// large models (each round runs every sample once). A weight shared by several nodes sums their rows.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/progress.h"
#include "core/tensor.h"
#include "exec/executor.h"
#include "quant/gptq.h"
#include "quant/weight_only_planner.h"

namespace onnxquant {

class Model;

struct HessianOptions {
  int64_t max_rows_per_sample = 256;
  int64_t block = kDefaultGptqBlock;
  size_t memory_budget_bytes = size_t{512} << 20;
  ExecOptions exec;
  ProgressMode progress = ProgressMode::Auto;
};

// One weight (by weight_key) as GPTQ sees it: a matrix view per group and a Hessian per view.
struct LayerStatistics {
  std::vector<MatrixView> views;
  std::vector<BlockHessian> hessians;
};

struct LayerHessians {
  std::map<std::string, LayerStatistics> by_key;
  std::vector<std::string> unsupported;  // "tensor: why" for quantized weights left to round-to-nearest
  int64_t samples = 0, rounds = 0;
};

// The matrix views of a quantized decision's weight, or empty when GPTQ does not handle it (the reason
// goes to `why`). `group` is the Conv's group attribute (1 otherwise).
std::vector<MatrixView> weight_views(const WeightDecision& d, int64_t group, std::string& why);

// `model` is the prepared FP32 model the plan was made on.
LayerHessians collect_layer_hessians(const Model& model, const WeightOnlyPlan& plan, const std::vector<NamedTensors>& samples,
                                     const HessianOptions& options = {});

}  // namespace onnxquant
