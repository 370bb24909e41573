// Weight values rounded ahead of the rewrite (pipeline/static_weight_rounding.h: GPTQ on the static
// path), tied to the plan decision they were rounded for. rewrite/use_rounded_weights.h writes them into
// the float model after planning, as floats already on the grid (integer x scale), so that the usual
// round-to-nearest of rewrite/quantize_weights.h reproduces the chosen integers exactly. A value is used
// only while the plan still asks for the same scales: anything else (other ranges, another grid) falls
// back to round-to-nearest rather than quantize onto a grid the rounding was not made for.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace onnxquant {

struct RoundedWeight {
  std::string consumer_output;  // the node whose plan decision this was rounded for
  std::vector<double> scales;   // the decision's scales (one, or one per channel)
  int32_t qmin = 0, qmax = 0;   // and its grid
  Tensor values;                // float32, every element an integer multiple of its channel's scale
};

// By weight tensor name (one decision per tensor: shared weights are not pre-rounded).
using RoundedWeights = std::map<std::string, RoundedWeight>;

}  // namespace onnxquant
