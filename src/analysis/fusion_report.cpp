#include "analysis/fusion_report.h"

#include <onnx/onnx_pb.h>

#include <set>
#include <unordered_map>

#include "analysis/model_facts.h"
#include "exec/optimized_graph.h"
#include "ir/graph.h"
#include "ir/model.h"

namespace onnxquant {

namespace {

// Kernels of ONNX Runtime's CPU execution provider (1.30) that compute on integer tensors. The contrib
// ones live in com.microsoft; the NHWC QLinearConv and NhwcMaxPool appear when ORT's layout transformer
// moves integer convolutions to channels-last (it then inserts Transposes at the region's borders).
constexpr IntegerKernel kIntegerKernels[] = {
    {"", "QLinearConv", "Conv", "static"},
    {"com.microsoft", "QLinearConv", "Conv", "static"},
    {"", "QLinearMatMul", "MatMul", "static"},
    {"com.microsoft", "QGemm", "Gemm", "static"},
    {"com.microsoft", "QLinearAdd", "Add", "static"},
    {"com.microsoft", "QLinearMul", "Mul", "static"},
    {"com.microsoft", "QLinearConcat", "Concat", "static"},
    {"com.microsoft", "QLinearAveragePool", "AveragePool", "static"},
    {"com.microsoft", "QLinearGlobalAveragePool", "GlobalAveragePool", "static"},
    {"com.microsoft", "QLinearSigmoid", "Sigmoid", "static"},
    {"com.microsoft", "QLinearLeakyRelu", "LeakyRelu", "static"},
    {"com.microsoft", "QLinearSoftmax", "Softmax", "static"},
    {"com.microsoft", "QLinearConvTranspose", "ConvTranspose", "static"},
    {"com.microsoft", "QLinearReduceMean", "ReduceMean", "static"},
    {"com.microsoft", "QLinearWhere", "Where", "static"},
    {"com.microsoft", "NhwcMaxPool", "MaxPool", "static"},
    {"com.microsoft", "QAttention", "Attention", "dynamic"},
    {"", "MatMulInteger", "MatMul", "dynamic"},
    {"", "ConvInteger", "Conv", "dynamic"},
    {"com.microsoft", "DynamicQuantizeMatMul", "MatMul", "dynamic"},
    {"com.microsoft", "MatMulIntegerToFloat", "MatMul", "dynamic"},
    {"com.microsoft", "DynamicQuantizeLSTM", "LSTM", "dynamic"},
    {"com.microsoft", "MatMulNBits", "MatMul", "weight-only"},
    {"com.microsoft", "GatherBlockQuantized", "Gather", "weight-only"},
};

bool is_default_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }
bool is_quantize(const onnx::NodeProto& n) { return n.op_type() == "QuantizeLinear"; }
bool is_dequantize(const onnx::NodeProto& n) { return n.op_type() == "DequantizeLinear"; }

// Ops ORT may delete in front of a QuantizeLinear because the Q already clips to the same range.
bool is_clipping_activation(const onnx::NodeProto& n) {
  return is_default_domain(n.domain()) && (n.op_type() == "Relu" || n.op_type() == "Clip");
}

// Where X's result goes at run time when fused: the QuantizeLinear right after it, or after a Relu/Clip
// that ORT folds into the Q. Returns that Q's output, or "" when X's result is not quantized.
std::string quantized_result(const Graph& g, const std::string& tensor) {
  std::string t = tensor;
  for (int hop = 0; hop < 2; ++hop) {
    const auto& consumers = g.consumers(t);
    if (consumers.size() != 1) return "";
    const auto& next = g.node(consumers[0]);
    if (is_quantize(next)) return next.output(0);
    if (!is_clipping_activation(next) || next.output_size() < 1) return "";
    t = next.output(0);
  }
  return "";
}

class OptimizedIndex {
 public:
  explicit OptimizedIndex(const onnx::GraphProto& graph, const std::set<std::string>& original_names) : g_(graph) {
    for (int i = 0; i < graph.node_size(); ++i) {
      const auto& n = graph.node(i);
      if (!n.name().empty()) by_name_.emplace(n.name(), i);
      for (const auto& o : n.output()) producer_.emplace(o, i);
      inserted_transpose_.push_back(n.op_type() == "Transpose" && !original_names.count(n.name()));
    }
  }

  // The node ORT runs in place of `node`: the same name or one ORT derived from it ("conv_token_3"),
  // else the producer of one of `tensors`, looking through Transposes that ORT inserted.
  const onnx::NodeProto* match(const onnx::NodeProto& node, const std::vector<std::string>& tensors) const {
    if (!node.name().empty()) {
      if (auto it = by_name_.find(node.name()); it != by_name_.end()) return &g_.node(it->second);
      const std::string prefix = node.name() + "_token_";
      for (auto it = by_name_.lower_bound(prefix); it != by_name_.end() && it->first.rfind(prefix, 0) == 0; ++it)
        if (!inserted_transpose_[static_cast<size_t>(it->second)]) return &g_.node(it->second);
    }
    for (const auto& t : tensors) {
      if (t.empty()) continue;
      auto it = producer_.find(t);
      for (int hop = 0; it != producer_.end() && hop < 3; ++hop) {
        const auto& n = g_.node(it->second);
        if (!inserted_transpose_[static_cast<size_t>(it->second)] || n.input_size() < 1) return &n;
        it = producer_.find(n.input(0));
      }
    }
    return nullptr;
  }

  bool reads_dequantized(const onnx::NodeProto& n) const {
    for (const auto& in : n.input())
      if (auto it = producer_.find(in); it != producer_.end() && is_dequantize(g_.node(it->second))) return true;
    return false;
  }

 private:
  const onnx::GraphProto& g_;
  std::map<std::string, int> by_name_;  // ordered, for the "_token_" prefix search
  std::unordered_map<std::string, int> producer_;
  std::vector<bool> inserted_transpose_;
};

// Ops that only move or select values: ORT runs them on integer tensors directly when the Q/DQ pair around
// them shares scale and zero point (it drops the pair), so they need no integer kernel of their own.
bool is_data_movement(const onnx::NodeProto& n) {
  static const std::set<std::string> ops{"Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "MaxPool", "Resize",
                                         "Slice", "Gather", "GatherElements", "Split", "Pad", "DepthToSpace", "SpaceToDepth",
                                         "Expand", "Tile", "Identity", "ArgMax", "ArgMin", "ReduceMax", "ReduceMin"};
  return is_default_domain(n.domain()) && ops.count(n.op_type());
}

bool has_integer_kernel_for(const std::string& op_type) {
  for (const auto& k : kIntegerKernels)
    if (op_type == k.replaces) return true;
  return false;
}

void classify(QuantizedOp& op, const onnx::NodeProto& node, const onnx::NodeProto* ran, const OptimizedIndex& index,
              const std::string& quantized_out) {
  if (!ran) {
    op.status = FusionStatus::Unknown;
    op.reason = "no matching node in ONNX Runtime's optimized graph";
    return;
  }
  op.runs_as = qualified_op(*ran);
  if (find_integer_kernel(ran->domain(), ran->op_type())) {
    op.status = FusionStatus::Fused;
  } else if (is_data_movement(node) && !index.reads_dequantized(*ran) && !is_quantize(*ran)) {
    op.status = FusionStatus::Int8;
  } else {
    op.status = FusionStatus::Float;
    if (is_data_movement(node))
      op.reason = "ONNX Runtime kept the DequantizeLinear/QuantizeLinear around it (scales or zero points differ?)";
    else if (!is_default_domain(node.domain()) || !has_integer_kernel_for(node.op_type()))
      op.reason = "ONNX Runtime has no integer kernel for " + qualified_op(node);
    else if (quantized_out.empty())
      op.reason = "its output is not quantized (no QuantizeLinear follows it), so it stays float";
    else
      op.reason = "ONNX Runtime did not fuse the DequantizeLinear -> " + node.op_type() +
                  " -> QuantizeLinear group (check Q/DQ element types, per-channel axes, shared DequantizeLinear)";
  }
}

void tally(OpFusionTally& t, FusionStatus s) {
  ++t.quantized;
  switch (s) {
    case FusionStatus::Fused: ++t.fused; break;
    case FusionStatus::Int8: ++t.int8; break;
    case FusionStatus::Float: ++t.float_; break;
    case FusionStatus::Unknown: ++t.unknown; break;
  }
}

}  // namespace

std::span<const IntegerKernel> integer_kernels() { return kIntegerKernels; }

const IntegerKernel* find_integer_kernel(const std::string& domain, const std::string& op_type) {
  const bool default_domain = is_default_domain(domain);
  for (const auto& k : kIntegerKernels)
    if (op_type == k.op_type && (default_domain ? *k.domain == '\0' : domain == k.domain)) return &k;
  return nullptr;
}

const char* fusion_status_name(FusionStatus status) {
  switch (status) {
    case FusionStatus::Fused: return "fused";
    case FusionStatus::Int8: return "int8";
    case FusionStatus::Float: return "float";
    case FusionStatus::Unknown: return "unknown";
  }
  return "unknown";
}

FusionReport fusion_report(const Model& quantized, const Model& optimized) {
  FusionReport r;
  const auto& qgraph = quantized.proto().graph();
  const auto& ograph = optimized.proto().graph();
  r.nodes_in_model = qgraph.node_size();
  r.nodes_at_runtime = ograph.node_size();
  std::set<std::string> original_names;
  for (const auto& n : qgraph.node()) {
    original_names.insert(n.name());
    r.quantize_in_model += is_quantize(n);
    r.dequantize_in_model += is_dequantize(n);
  }
  for (const auto& n : ograph.node()) {
    r.quantize_at_runtime += is_quantize(n);
    r.dequantize_at_runtime += is_dequantize(n);
    if (find_integer_kernel(n.domain(), n.op_type())) {
      ++r.integer_kernels[qualified_op(n)];
      ++r.integer_kernel_total;
    }
  }

  const Graph g(qgraph);
  const OptimizedIndex index(ograph, original_names);
  for (int i = 0; i < g.node_count(); ++i) {
    const auto& node = g.node(i);
    if (is_quantize(node) || is_dequantize(node) || node.output_size() < 1) continue;
    bool from_dq = false;
    for (const auto& in : node.input())
      if (const int p = in.empty() ? -1 : g.producer(in); p >= 0 && is_dequantize(g.node(p))) from_dq = true;
    if (!from_dq) continue;
    QuantizedOp op;
    op.node = node.name();
    op.op_type = qualified_op(node);
    op.output = node.output(0);
    const std::string q_out = quantized_result(g, op.output);
    const onnx::NodeProto* ran = index.match(node, {q_out, op.output});
    classify(op, node, ran, index, q_out);
    tally(r.by_op[op.op_type], op.status);
    tally(r.total, op.status);
    r.quantized_ops.push_back(std::move(op));
  }
  return r;
}

FusionReport fusion_report(const Model& quantized, const ExecOptions& options) {
  FusionReport r = fusion_report(quantized, optimized_graph(quantized, options));
  r.runtime_version = runtime_version();
  return r;
}

}  // namespace onnxquant
