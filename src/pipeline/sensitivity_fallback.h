// `--target-cosine X`: when the quantized model's outputs are further from FP32 than X on held-out
// calibration samples, return the layers that cost the most accuracy to FP32, one at a time, until the
// target holds. The loss concentrates in a few layers (DESIGN.md, "Where accuracy goes"), so spending
// float where it buys the most keeps most of the speed.
//
// Sensitivity of a quantized node = how much the output cosine (on the `measure` samples) rises when
// that node stays float, given the nodes already returned (through StaticPlanOptions::exclude). Nodes
// are returned to FP32 greedily, the most sensitive first, re-judging the front of the ranking before
// each step; after each one the model is re-quantized and judged on the separate `held_out`
// samples (so the choice is not fitted to the samples it is judged on), and its latency is measured,
// which gives the trade-off curve: cosine against speed as layers return to FP32. When the target is
// not reached, the step with the best held-out cosine is kept.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "calib/range_methods.h"
#include "core/tensor.h"
#include "exec/executor.h"
#include "quant/rounded_weights.h"
#include "quant/static_planner.h"

namespace onnxquant {

class Model;

struct FallbackOptions {
  double target_cosine = 0.99;
  int max_layers = 16;       // give up (and say so) after returning this many nodes to FP32
  int latency_runs = 10;     // timed runs per step on one sample (1 thread unless exec says otherwise)
  int rejudge = 6;           // nodes at the front of the ranking judged again before each step
  const RoundedWeights* rounded = nullptr;  // the weights the model will be quantized with (quantize_static)
};

struct FallbackStep {
  std::string node;           // returned to FP32 in this step ("" for the starting point)
  std::string op_type;
  double sensitivity = 0;     // cosine gained on the measure samples by this node in FP32, given the earlier steps
  double cosine = 0;          // held-out cosine with this and every earlier node in FP32
  double latency_ms = 0;      // median
};

struct FallbackResult {
  bool reached = false;
  double fp32_latency_ms = 0;
  std::vector<FallbackStep> steps;  // steps[0]: everything the plan quantizes; one step per node tried
  // Node names returned to FP32, in order: all of them when the target was reached, else those of the
  // step with the best held-out cosine (`kept_step`).
  std::vector<std::string> excluded;
  int kept_step = -1;  // when not reached: the step whose layers stay in FP32
};

// The worst output's mean cosine over `samples` (each sample's cosine, averaged; outputs compared by name).
double mean_output_cosine(const std::vector<NamedTensors>& reference_outputs, Executor& candidate, const std::vector<NamedTensors>& samples);

// `fp32` must be prepared (see quantize_job.cpp). Returns the nodes to add to `plan.exclude`.
FallbackResult fall_back_to_target(const Model& fp32, const std::map<std::string, Range>& ranges, const StaticPlanOptions& plan,
                                   const std::vector<NamedTensors>& measure, const std::vector<NamedTensors>& held_out,
                                   const ExecOptions& exec, const FallbackOptions& options);

}  // namespace onnxquant
