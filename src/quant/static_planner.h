// The static INT8 planner: from a model and its calibrated activation ranges, decide for every node and
// tensor whether it is quantized, how (quant/fusion_rules.h names the ORT fusion each rule targets), and
// why not when it is not. It only reads the graph.
//
// Order of precedence for a node (first match decides, and is the reason in the plan):
//   1. --exclude (node name, op type, or a regex matched against the whole node name)
//   2. protected ops (Softmax, LayerNormalization: accuracy killers, float unless asked)
//   3. no placement rule for the op type (no ORT integer kernel we target)
//   4. inputs computed only from non-image graph inputs (sizes, scale factors) stay float
//   5. missing calibration range, non-constant weight, unsupported attributes
//   6. the node's quantized output would be a graph output (graph outputs stay float)
//   7. int32 bias overflow (b / (s_in * s_w) beyond int32): the whole node stays float, because ORT fuses
//      a Conv/Gemm only when its bias is int32, and an unfused DQ -> Conv is slower than float
#pragma once
#include <map>
#include <string>
#include <vector>

#include "quant/quant_params.h"
#include "quant/quant_plan.h"

namespace onnxquant {

class Model;

struct StaticPlanOptions {
  Granularity weights = Granularity::PerChannel;
  QuantTarget activations = QuantTarget::UInt8Asymmetric;
  std::vector<std::string> exclude;  // node names, op types, or regexes over node names
};

// `ranges`: activation ranges by tensor name (RangesFile::ranges()). The model's main graph is planned;
// subgraph bodies stay float. Throws UsageError for an --exclude pattern that is not a valid regex and
// matches no node name or op type.
QuantPlan plan_static_int8(const Model& model, const std::map<std::string, Range>& ranges, const StaticPlanOptions& options = {});

}  // namespace onnxquant
