// Pruning of int8 islands: quantized ops whose Q/DQ ORT cannot turn into a saving. The planner decides
// node by node in topological order; only afterwards is it known which quantized ops ended up next to
// each other. Two shapes cost time without buying anything:
//   - a connected group of quantized ops (connected through quantized tensors) without any Conv, MatMul
//     or Gemm: Q -> QLinearAdd/Sigmoid/... -> DQ replaces one cheap float op by three;
//   - a non-compute op with no quantized neighbour on either side (float -> Q -> op -> DQ -> float): a
//     lone Q/DQ pair between two float ops.
// Both are turned back to float (with the reason), repeatedly until nothing changes, and every Q/DQ and
// quantized constant that no quantized op reads or produces any more is dropped from the plan.
#pragma once
#include <map>
#include <string>

#include "quant/quant_plan.h"

namespace onnxquant {

class Graph;

// Edits `plan` (made for `graph`'s main graph). Returns the activations it dropped, with the reason.
std::map<std::string, std::string> prune_int8_islands(const Graph& graph, QuantPlan& plan);

}  // namespace onnxquant
