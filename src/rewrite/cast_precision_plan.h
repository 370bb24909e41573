// The read-only half of cast_precision: for every node of the main graph and every float32 tensor slot,
// the precision it will have (rules 1-3 in cast_precision.h). cast_precision.cpp carries the plan out.
#pragma once
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/tensor.h"
#include "rewrite/cast_precision.h"

namespace onnxquant {

enum class Precision : uint8_t { Float32, Half };

struct NodeCastPlan {
  bool data = false;          // on the data path (reads something computed from a graph input)
  bool eligible = false;      // may compute in half at all (rule 2, first sentence)
  std::string float_reason;   // why a data-path node with float32 tensors stays float32
  // Per slot: the precision the slot reads/writes; nullopt when the slot is not a float32 tensor.
  std::vector<std::optional<Precision>> inputs, outputs;
  // Per input: the node computes with it in half (its constraint also binds a half output); false for
  // input-only constraints (Shape, Cast's input, comparisons), which just accept either precision.
  std::vector<bool> computes_half;
  bool retype_cast = false;   // Cast(to=float) that becomes Cast(to=half) (rule 3)
  bool any_half() const;
};

struct CastPlan {
  std::vector<NodeCastPlan> nodes;                        // main graph, by node index
  std::unordered_map<std::string, DType> types;           // element type of every tensor we could type
  std::unordered_map<std::string, Precision> produced;    // float32 node outputs and graph inputs: precision written
  std::unordered_set<std::string> constants;              // float32 initializers and Constant-node outputs
  bool is_float32(const std::string& name) const;
};

// Whether ONNX's Cast converts between float32 and `type` at `opset` (bfloat16 needs opset 13).
bool cast_supports(HalfType type, int64_t opset);

// Reads `model` only. `options.compute` is ignored: the plan says what Full compute would do, and
// WeightsOnly uses it to pick the weights to store in half.
CastPlan plan_cast(const Model& model, const CastOptions& options);

}  // namespace onnxquant
