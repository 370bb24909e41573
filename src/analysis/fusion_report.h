// The fusion report: what ONNX Runtime really runs for a quantized model. A QDQ model only says what
// *could* run in integers; ORT's graph optimizer decides, at session creation, which DQ -> op -> Q groups
// become integer kernels (QLinearConv, QLinearMatMul, ...). A quantized op that stays in float costs a
// DequantizeLinear in front and a QuantizeLinear behind on every run, which is how INT8 models end up
// slower than FP32. So we count ORT's optimized graph, not the model file.
//
// "Quantized op": a node of the quantized model's main graph, other than Q/DQ themselves, with at least one
// input produced by a DequantizeLinear. Each one is matched with the node ORT runs in its place (by the
// name ORT keeps or derives, "conv" -> "conv_token_1", else by the tensor it produces, looking through the
// Transposes ORT inserts when it switches integer convolutions to NHWC) and classified:
//   fused       the node ORT runs is an integer kernel from kIntegerKernels
//   int8        the node runs on integer tensors without a kernel of its own: ORT dropped the Q/DQ pair
//               around a data-movement op (MaxPool, Reshape, Transpose, ...), or a layout variant took it
//   float       the node still reads a DequantizeLinear output: it runs in float at run time
//   unknown     ORT's graph has no node we can match with it (a rewrite we do not recognise)
#pragma once
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "exec/executor.h"

namespace onnxquant {

class Model;

// One integer kernel ORT can run, and the float op it stands for. The single table of such names: the
// report, the placement rules and their tests all read it.
struct IntegerKernel {
  const char* domain;    // "" (ai.onnx), "com.microsoft"
  const char* op_type;
  const char* replaces;  // float op type it computes ("Conv", "MatMul", ...)
  const char* kind;      // "static" (QLinear*), "dynamic" (activations quantized at run time), "weight-only"
};
std::span<const IntegerKernel> integer_kernels();
// The table entry for a node's (domain, op_type), or nullptr. Domain "" and "ai.onnx" are the same.
const IntegerKernel* find_integer_kernel(const std::string& domain, const std::string& op_type);

enum class FusionStatus { Fused, Int8, Float, Unknown };
const char* fusion_status_name(FusionStatus status);  // "fused", "int8", "float", "unknown"

struct QuantizedOp {
  std::string node;     // node name in the quantized model ("" when unnamed)
  std::string op_type;  // qualified op type in the quantized model
  std::string output;   // its first output tensor
  FusionStatus status = FusionStatus::Unknown;
  std::string runs_as;  // qualified op type ORT runs in its place ("com.microsoft:QLinearConv"); "" if unknown
  std::string reason;   // for float/unknown: why, in plain words
};

struct OpFusionTally {
  int64_t quantized = 0, fused = 0, int8 = 0, float_ = 0, unknown = 0;
};

struct FusionReport {
  // Integer kernels in ORT's optimized graph: qualified op type -> count (also those that were already
  // integer kernels in the model file, e.g. QOperator-format or dynamically quantized models).
  std::map<std::string, int64_t> integer_kernels;
  int64_t integer_kernel_total = 0;
  std::vector<QuantizedOp> quantized_ops;    // in the quantized model's node order
  std::map<std::string, OpFusionTally> by_op;  // quantized op type -> tally
  OpFusionTally total;
  // Q/DQ nodes in the model file and in what ORT runs (what remains costs time on every run).
  int64_t quantize_in_model = 0, dequantize_in_model = 0;
  int64_t quantize_at_runtime = 0, dequantize_at_runtime = 0;
  int64_t nodes_in_model = 0, nodes_at_runtime = 0;
  std::string runtime_version;
};

// Pure counting: `quantized` as written, `optimized` as ORT saved it. Main graphs only (subgraph bodies
// are optimized separately by ORT and rarely quantized).
FusionReport fusion_report(const Model& quantized, const Model& optimized);
// Creates an ORT session with `options` (optimization level All unless set) and counts its result.
// Throws RuntimeError when ORT refuses the model.
FusionReport fusion_report(const Model& quantized, const ExecOptions& options = {});

}  // namespace onnxquant
