// The static INT8 planner: from a model and its calibrated activation ranges, decide for every node and
// tensor whether it is quantized, how (quant/fusion_rules.h names the ORT fusion each rule targets), and
// why not when it is not. It only reads the graph.
//
// Order of precedence for a node (first match decides, and is the reason in the plan):
//   1. --exclude (node name, op type, or a regex matched against the whole node name)
//   2. protected ops (Softmax unless `quantize_softmax`, LayerNormalization) and protected regions
//      (quant/protected_regions.h: decomposed LayerNorm, attention scores, --keep-fp32-head)
//   3. no placement rule for the op type (no ORT integer kernel we target)
//   4. inputs computed only from non-image graph inputs (sizes, scale factors) stay float
//   5. missing calibration range, non-constant weight, unsupported attributes
//   6. the node's quantized output would be a graph output (graph outputs stay float)
//   7. int32 bias overflow (b / (s_in * s_w) beyond int32): the whole node stays float, because ORT fuses
//      a Conv/Gemm only when its bias is int32, and an unfused DQ -> Conv is slower than float
// Then int8 islands are pruned (quant/prune_islands.h): Q/DQ that ORT cannot turn into a saving.
//
// Weights use [-127, 127], or [-64, 63] ("reduce range") when the target CPU has no VNNI: ORT's AVX2 u8s8
// kernels add pairs of u8 x s8 products in int16, which saturates with full-range weights
// (quant/cpu_features.h). The plan records the target and the choice.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "quant/cpu_features.h"
#include "quant/quant_params.h"
#include "quant/quant_plan.h"

namespace onnxquant {

class Model;

enum class ReduceRange {
  Auto,  // on when the target CPU has no VNNI
  On,    // 7-bit weights [-64, 63]
  Off,   // 8-bit weights [-127, 127]
};

struct StaticPlanOptions {
  Granularity weights = Granularity::PerChannel;
  QuantTarget activations = QuantTarget::UInt8Asymmetric;
  std::vector<std::string> exclude;  // node names, op types, or regexes over node names
  CpuTarget target_cpu = CpuTarget::Auto;  // the machine the model will run on
  ReduceRange reduce_range = ReduceRange::Auto;
  bool keep_fp32_head = false;      // last compute op before each graph output, and what follows, stay float
  bool quantize_softmax = false;    // Softmax outside attention chains (QLinearSoftmax); protected by default
  bool quantize_attention = false;  // attention score chains (MatMul -> scale -> mask -> Softmax -> MatMul)
  bool quantize_layer_norm = false; // decomposed LayerNorm chains
};

// `ranges`: activation ranges by tensor name (RangesFile::ranges()). The model's main graph is planned;
// subgraph bodies (If/Loop/Scan) stay float and keep reading the float tensors they capture. Throws UsageError for an --exclude pattern that is not a valid regex and
// matches no node name or op type.
QuantPlan plan_static_int8(const Model& model, const std::map<std::string, Range>& ranges, const StaticPlanOptions& options = {});

}  // namespace onnxquant
