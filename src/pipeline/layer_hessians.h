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
#include "quant/gptq_target.h"
#include "quant/weight_only_planner.h"

namespace onnxquant {

class Model;

// `--gptq-stages auto`: one stage and one per layer both, keeping the one closer to FP32.
inline constexpr int64_t kGptqStagesAuto = -1;

struct HessianOptions {
  int64_t max_rows_per_sample = 256;
  int64_t block = kDefaultGptqBlock;
  size_t memory_budget_bytes = size_t{512} << 20;
  // Weight-only GPTQ gathers its statistics in this many stages along the graph, each stage's layers
  // against the model as quantized by the stages before it (pipeline/sequential_gptq.h); 0: one stage
  // per layer; 1: every layer from the FP32 model in one go. Neither is better on every model: measured
  // on the eval split (int8, 32 samples), per layer leaves 0.49x of round-to-nearest's loss on
  // mobilenet_v2 (0.55x in one stage) and 0.28x on resnet50 (0.30x), but 0.86x on efficientnet_b0
  // (0.56x), in about 4x the time; in between (4 or 8 stages) was worse than both on both models.
  // kGptqStagesAuto is resolved by the weight-only job (pipeline/weight_only_job.h); here it means 1.
  int64_t stages = 1;
  // Stage by stage only: each corrected layer's float bias absorbs its mean output error.
  bool correct_biases = true;
  ExecOptions exec;
  ProgressMode progress = ProgressMode::Auto;
};

// One weight (by weight_key) as GPTQ sees it: a matrix view per group and a Hessian per view.
struct LayerStatistics {
  std::vector<MatrixView> views;
  std::vector<BlockHessian> hessians;
  std::vector<BlockCrossMoment> cross;  // with a reference model only (quant/gptq_target.h)
  // With a reference model: H_q and the cross moment of the even-numbered samples alone, the half that
  // cross-validates the target's damping (quant/gptq_target.h).
  std::vector<BlockHessian> hessians_half;
  std::vector<BlockCrossMoment> cross_half;
  // Per view, the sum of the rows (the layer's mean input times rows()), and of the reference model's.
  std::vector<std::vector<double>> row_sums, reference_row_sums;
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

// Statistics of the weights `keys` only, their layer inputs taken from `model` and, with a `reference`
// (the FP32 model of which `model` is a copy with some weights already quantized: the same graph), the
// cross moment of each input row with the same row in the reference (quant/gptq_target.h). The runs are
// pruned to the nodes those layer inputs need.
LayerHessians collect_layer_hessians(const Model& model, const WeightOnlyPlan& plan, const std::vector<NamedTensors>& samples,
                                     const HessianOptions& options, const std::vector<std::string>& keys, const Model* reference);

// The weights GPTQ handles (by weight_key, in plan order, which is the graph's topological order) and
// the ones it leaves to round-to-nearest ("tensor: why"); nothing is run.
struct GptqLayers {
  std::vector<std::string> keys, unsupported;
};
GptqLayers gptq_layers(const Model& model, const WeightOnlyPlan& plan);

}  // namespace onnxquant
