// cast_precision: turn an FP32 model into a float16 (or bfloat16) model that ONNX Runtime still loads.
//
// The rules (what becomes half, decided from ONNX's operator schemas, never from a list of op names):
//  1. Only tensors on the *data path* change: a tensor depends on data when it is computed from a graph
//     input. Shape/Size outputs are shape information, not data, so Shape → Cast(float) → Mul →
//     Cast(int64) → Resize(sizes) chains, and anything computed only from constants, stay float32.
//     1b. One exception: a node off the data path that only moves weights (every type constraint of its
//     float tensors admits tensor(string), so it copies values and cannot compute with them: Identity,
//     Transpose, Reshape, Concat, ...) and whose float outputs are read only by nodes computing in half
//     becomes half too, so the weight behind it is stored in half. PyTorch shares equal weights through
//     Identity nodes; without this the float32 original stays in the file beside a half copy (the corpus
//     transformer grew to 1.5x its size).
//  2. A node on the data path computes in half when it is in the default ONNX domain, has a schema at
//     the model's opset, has no subgraph (If/Loop/Scan and their bodies stay float32), and the types of
//     all its tensors are known. Its float32 slots are grouped by the schema's type constraint (all slots
//     bound to one constraint must share one type): a group becomes half when the constraint allows
//     tensor(float16) (resp. tensor(bfloat16)); a slot of fixed type tensor(float) (Resize `scales`,
//     DequantizeLinear-13 `y`, ...) stays float32. A constraint that binds only inputs (Shape's T, Cast's
//     T1, Equal's T) takes whatever precision arrives (half when any non-constant input is half) so no
//     Cast is added for them; a constraint that binds only outputs (ConstantOfShape, EyeLike, Cast's T2)
//     is set by an attribute and stays float32 — except Cast, below.
//  3. An existing Cast(to=float) on the data path gets to=half when everything that reads its output
//     computes in half (so an int → float → half chain becomes one int → half Cast, and a Cast feeding a
//     float32 graph output or consumer keeps its exact float result).
//  4. Where a tensor is produced in one precision and read in the other, one Cast per (tensor, precision)
//     is inserted right after the producer and shared by every reader. Graph inputs and outputs keep
//     float32 by default (Casts at the boundary, output names unchanged); IoTypes::Half makes them half.
//     Tensors that a subgraph reads from the outer scope are always given to it in float32 (renamed
//     inside the subgraph to the Cast's output), so subgraphs are never edited otherwise.
//  5. Weights (initializers and Constant nodes — Paddle exports keep weights as Constant nodes) are
//     converted where a half slot reads them: in place when every reader wants half, otherwise a half
//     copy is added beside the float32 original (never edited in place for one reader). A weight with
//     finite values beyond float16's ±65504 keeps its reader in float32 (PP-OCRv4 det has a BatchNorm
//     variance of 9.8e7: clamping it dropped the output cosine to 0.54); values of 1e30 and more stand
//     for infinity (FLT_MAX clip bounds, -1e38 masks) and are clamped to ±65504 and counted. Infinities
//     stay infinite.
//  6. value_info, graph input/output and initializer declarations are rewritten to the final type of
//     every renamed or retyped tensor, so ORT's and the ONNX checker's type checks agree with the nodes.
//
// HalfCompute::WeightsOnly keeps every node in float32 and only stores the weights that rule 2 would
// make float16 (at least 64 elements; scalars and tiny biases are not worth a Cast) in half, each
// followed by Cast(to=float): half the file size, float32 compute. ORT constant-folds those Casts at
// load, so the running model is float32 again. This is the fallback for bfloat16 on ORT's CPU EP, which
// has almost no bfloat16 kernels and (unlike float16, where its InsertCastTransformer wraps kernels it
// lacks in Casts) refuses a bf16-compute model at session creation ("Could not find an implementation
// for Relu(13)", ORT 1.30).
//
// Every precision change needs ONNX's Cast to accept the half type at the model's opset; bfloat16 has
// it only from opset 13, so before that nothing becomes bf16 and WeightsOnly throws UnsupportedOpError.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "rewrite/pass.h"

namespace onnxquant {

class Model;

enum class HalfType { Float16, BFloat16 };
enum class HalfCompute {
  Full,         // nodes compute in half (rules 1-6)
  WeightsOnly,  // half storage, float32 compute (see above)
};
enum class IoTypes { KeepFloat32, Half };

struct CastOptions {
  HalfType type = HalfType::Float16;
  HalfCompute compute = HalfCompute::Full;
  IoTypes io = IoTypes::KeepFloat32;
};

// Data-path nodes left in float32, grouped by op type and reason, for the report.
struct KeptFloat {
  std::string op_type;
  std::string reason;
  int count = 0;
};

struct CastStats {
  int half_nodes = 0;            // nodes that now compute in half (retyped Casts included)
  int float_nodes = 0;           // data-path nodes with float32 tensors left in float32 (see kept_float)
  int casts_inserted = 0;        // new Cast nodes (boundary, precision changes, weights-only decode)
  int casts_retyped = 0;         // existing Cast nodes whose `to` became half
  int constants_converted = 0;   // initializers and Constant nodes now stored in half
  int constants_duplicated = 0;  // of those, also kept in float32 because a float32 slot reads them
  int64_t half_weight_elements = 0;  // elements stored in half
  int64_t clamped_values = 0;    // float16 only: weights of 1e30 or more (infinity stand-ins) clamped to ±65504
  std::vector<KeptFloat> kept_float;
};

// Rewrites `model` in place. Throws UnsupportedOpError naming the node when the graph cannot be read
// (cycle, tensor read but never produced).
CastStats cast_precision(Model& model, const CastOptions& options);

const char* half_type_name(HalfType type);  // "float16" / "bfloat16"

// The pass interface (match: the model has float32 tensors on its data path; apply: cast_precision).
class CastPrecisionPass : public Pass {
 public:
  explicit CastPrecisionPass(CastOptions options) : options_(options) {}
  std::string name() const override { return "cast_precision"; }
  bool match(const Model& model) const override;
  PassReport apply(Model& model) const override;

 private:
  CastOptions options_;
};

}  // namespace onnxquant
