// Plans weight-only quantization: which initializers become int8/int4 (read through DequantizeLinear,
// or packed into ORT's MatMulNBits) and which stay float, each with its reason. Only reads the graph;
// rewrite/quantize_weights_only.h carries the plan out.
//
// A weight is an input slot of a compute op that holds a float32 initializer:
//   Conv B (channel axis 0, blocks along axis 1), ConvTranspose B (channel axis 1, blocks along 0),
//   Gemm B (transB=1: channel 0, blocks along 1; transB=0: channel 1, blocks along 0),
//   MatMul B of rank >= 2 (channel: last axis, blocks along the one before), Gather data (embeddings:
//   one scale per row, axis 0).
// Biases, BatchNorm parameters, shapes and indices are never slots, so they are never touched.
// Overrides apply in this order (later wins): --bits; embeddings and the output projection (the last weighted
// node reaching a graph output through unweighted nodes) stay 8-bit under --bits 4 unless named in --bits-for; --bits-for NAME=B
// (tensor or node name); --exclude (node name, op type, tensor name or regex over node names) and
// --min-elements keep a weight float. A weight that some node reads in a way we do not quantize stays
// float for every reader, so it is never stored twice.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "quant/weight_grid.h"

namespace onnxquant {

class Model;

enum class WeightFormat {
  DequantizeLinear,  // integer initializer -> DequantizeLinear -> op (opset 13 for int8, 21 for int4)
  MatMulNBits,       // com.microsoft MatMulNBits replaces the MatMul (4-bit, blocks along K)
};
const char* weight_format_name(WeightFormat f);  // "dequantize_linear", "matmul_nbits"

// ORT MatMulNBits accuracy_level: the minimum precision of the activation side during compute.
// 0 unset (= 1), 1 fp32, 2 fp16, 3 bf16, 4 int8. Default 4: ORT's int8 kernels are the fast path on
// x86 and ARM; blocks still dequantize with their own float scales.
inline constexpr int64_t kDefaultAccuracyLevel = 4;

struct WeightOnlyOptions {
  int bits = 8;                                  // 8 or 4
  WeightScheme scheme = WeightScheme::Symmetric;
  bool per_tensor = false;                       // one scale per tensor (8-bit only) instead of per channel
  int64_t block_size = 32;                       // 4-bit: 32, 64 or 128 along the input axis
  int64_t min_elements = 1024;                   // smaller weights stay float (not worth a DequantizeLinear)
  std::vector<std::string> exclude;
  std::map<std::string, int> bits_for;           // tensor or node name -> 4 or 8
  bool matmul_nbits = false;                     // 4-bit MatMul weights as ORT MatMulNBits
  int64_t accuracy_level = kDefaultAccuracyLevel;
};

struct WeightDecision {
  std::string tensor;           // initializer name in the original model
  std::string consumer;         // node name
  std::string consumer_output;  // its first output (identifies unnamed nodes)
  std::string op_type;
  int input_index = -1;
  Shape shape;
  int64_t channel_axis = 0;  // output-channel axis of the weight
  int64_t input_axis = 1;    // the axis it sums over (blocks run along it)
  bool quantized = false;
  WeightGrid grid;
  WeightFormat format = WeightFormat::DequantizeLinear;
  std::string reason;
};

struct WeightOnlyPlan {
  WeightOnlyOptions options;
  std::vector<WeightDecision> weights;  // every slot seen, in topological order of the consumers
  int quantized_count() const;
  int max_bits() const;                 // 0 when nothing is quantized
  bool needs_int4_dequantize() const;   // some DequantizeLinear decision reads 4-bit values (opset 21)
};

// Throws UsageError on bad options (bits, block size, an --exclude that is neither a name nor a regex,
// a --bits-for name that matches nothing).
WeightOnlyPlan plan_weight_only(const Model& model, const WeightOnlyOptions& options);
nlohmann::json weight_plan_to_json(const WeightOnlyPlan& plan);

}  // namespace onnxquant
