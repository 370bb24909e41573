// Weight-only GPTQ stage by stage along the graph. The quantized layers are cut, in topological order,
// into consecutive stages; the first stage is rounded on statistics of the FP32 model, and each later
// stage on the inputs its layers receive when every earlier stage is already quantized (a copy of the
// model with those weights replaced by their dequantized values), with the asymmetric objective of
// quant/gptq_target.h against the FP32 model's inputs. A layer then corrects, besides its own rounding,
// the error the layers before it left in its input.
//
// Why: on mobilenet_v2 most of the loss starts in the narrow early layers (16- and 24-channel 1x1 convs,
// 3x3 depthwise), where a layer has few inputs of its own to move rounding error onto; statistics taken
// from the FP32 model cannot see that error, so nothing behind those layers can correct it.
//
// Cost: each stage runs every calibration sample through the quantized prefix and the FP32 prefix up to
// its layers' inputs (pruned models), so about `stages` runs of the whole model per sample in all.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "pipeline/layer_hessians.h"
#include "quant/gptq.h"
#include "quant/weight_grid.h"
#include "quant/weight_only_planner.h"

namespace onnxquant {

class Model;

struct SequentialGptq {
  std::map<std::string, QuantizedWeight> values;  // by weight_key, for every weight GPTQ handles
  std::vector<std::string> unsupported;           // "tensor: why" for those left to round-to-nearest
  std::map<std::string, Tensor> biases;           // corrected float biases, by initializer name
  GptqStats stats;                                // summed over the weights
  int64_t weights = 0, stages = 0, rounds = 0;    // rounds: model passes over the samples, all stages
  int64_t compensated = 0;                        // weights rounded towards a compensating target
};

// `fp32` is the prepared model the plan was made on; it is not changed.
SequentialGptq sequential_gptq(const Model& fp32, const WeightOnlyPlan& plan, const std::vector<NamedTensors>& samples, const HessianOptions& options);

}  // namespace onnxquant
