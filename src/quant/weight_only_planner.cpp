#include "quant/weight_only_planner.h"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>

#include "core/errors.h"
#include "ir/graph.h"
#include "ir/node_attributes.h"
#include "ir/model.h"

namespace onnxquant {

namespace {

bool default_domain(const onnx::NodeProto& n) { return n.domain().empty() || n.domain() == "ai.onnx"; }

// The weight slot of a node and its axes, or nullopt when the op has none.
struct Slot {
  int input = 1;
  int64_t channel_axis = 0;
  int64_t block_axis = 1;
  bool embedding = false;
};

std::optional<Slot> weight_slot(const onnx::NodeProto& n, int64_t rank) {
  if (!default_domain(n)) return std::nullopt;
  const std::string& op = n.op_type();
  if (op == "Conv" && rank >= 3) return Slot{1, 0, 1, false};
  if (op == "ConvTranspose" && rank >= 3) return Slot{1, 1, 0, false};
  if (op == "Gemm" && rank == 2) return int_attr(n, "transB", 0) ? Slot{1, 0, 1, false} : Slot{1, 1, 0, false};
  if (op == "MatMul" && rank >= 2) return Slot{1, rank - 1, rank - 2, false};
  if (op == "Gather" && rank == 2 && int_attr(n, "axis", 0) == 0) return Slot{0, 0, 1, true};
  return std::nullopt;
}

bool is_weighted(const onnx::NodeProto& n) {
  static const std::set<std::string> ops{"Conv", "ConvTranspose", "Gemm", "MatMul"};
  return default_domain(n) && ops.count(n.op_type());
}

class NodeMatcher {
 public:
  NodeMatcher(const std::vector<std::string>& patterns, const Graph& g) {
    std::set<std::string> names;
    for (int i = 0; i < g.node_count(); ++i) names.insert({g.node(i).name(), g.node(i).op_type()});
    for (const auto& t : g.proto().initializer()) names.insert(t.name());
    for (const auto& p : patterns) {
      std::optional<std::regex> re;
      try {
        re.emplace(p, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        if (!names.count(p)) throw UsageError(fmt::format("--exclude '{}' matches no node, op type or tensor and is not a valid regex ({})", p, e.what()));
      }
      patterns_.push_back({p, std::move(re)});
    }
  }
  std::optional<std::string> match(const onnx::NodeProto& n, const std::string& tensor) const {
    for (const auto& [p, re] : patterns_)
      if (n.name() == p || n.op_type() == p || tensor == p || (re && std::regex_match(n.name(), *re))) return p;
    return std::nullopt;
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::regex>>> patterns_;
};

// The output projection: of the weighted nodes whose output reaches a graph output through unweighted
// nodes only, the last in topological order (a classifier's Gemm, an LM head). Only the last: through
// residual connections every block of a Transformer reaches the output that way.
std::set<int> output_projections(const Graph& g, const std::vector<int>& order) {
  std::set<std::string> tail;  // tensors from which a graph output is reachable without another weighted node
  for (const auto& o : g.output_names()) tail.insert(o);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const auto& n = g.node(*it);
    bool reaches = false;
    for (const auto& o : n.output()) reaches = reaches || tail.count(o);
    if (!reaches) continue;
    if (is_weighted(n)) return {*it};
    for (const auto& i : n.input()) tail.insert(i);
  }
  return {};
}

// The grid (and format) of a quantized decision at `bits`, from its axes and the options; sets the reason.
void assign_grid(WeightDecision& d, int bits, const WeightOnlyOptions& opt, bool embedding, bool matmul_2d) {
  d.grid = WeightGrid{};
  d.grid.bits = bits;
  d.grid.scheme = opt.scheme;
  d.format = WeightFormat::DequantizeLinear;
  const bool can_block = bits == 4 && d.shape[d.input_axis] >= opt.block_size;
  if (can_block) {
    d.grid.grouping = WeightGrouping::Blocked;
    d.grid.axis = d.input_axis;
    d.grid.block_size = opt.block_size;
  } else if (opt.per_tensor && bits == 8 && !embedding) {
    d.grid.grouping = WeightGrouping::PerTensor;
  } else {
    d.grid.grouping = WeightGrouping::PerChannel;
    d.grid.axis = d.channel_axis;
  }
  if (bits == 4 && opt.matmul_nbits && matmul_2d) {
    d.format = WeightFormat::MatMulNBits;
    d.grid.grouping = WeightGrouping::Blocked;  // MatMulNBits always blocks along K (padded)
    d.grid.axis = 0;
    d.grid.block_size = opt.block_size;
  }
  d.reason = grid_label(d.grid);
  if (d.format == WeightFormat::MatMulNBits) d.reason += fmt::format(" as MatMulNBits (accuracy_level {})", opt.accuracy_level);
  if (bits == 4 && !can_block && d.format == WeightFormat::DequantizeLinear)
    d.reason += fmt::format(" (input axis {} < block size {})", d.shape[d.input_axis], opt.block_size);
}

void validate(const WeightOnlyOptions& o) {
  if (o.bits != 8 && o.bits != 4) throw UsageError(fmt::format("--bits {} is not supported: use 8 or 4", o.bits));
  for (const auto& [name, b] : o.bits_for)
    if (b != 8 && b != 4) throw UsageError(fmt::format("--bits-for {}={}: bits must be 8 or 4", name, b));
  if (o.block_size != 32 && o.block_size != 64 && o.block_size != 128)
    throw UsageError(fmt::format("--block-size {} is not supported: use 32, 64 or 128", o.block_size));
  if (o.accuracy_level < 0 || o.accuracy_level > 4) throw UsageError(fmt::format("--accuracy-level {} must be 0..4", o.accuracy_level));
  if (o.min_elements < 0) throw UsageError("--min-elements must be >= 0");
}

}  // namespace

const char* weight_format_name(WeightFormat f) { return f == WeightFormat::MatMulNBits ? "matmul_nbits" : "dequantize_linear"; }

int WeightOnlyPlan::quantized_count() const {
  int n = 0;
  for (const auto& w : weights) n += w.quantized;
  return n;
}

int WeightOnlyPlan::max_bits() const {
  int b = 0;
  for (const auto& w : weights)
    if (w.quantized) b = std::max(b, w.grid.bits);
  return b;
}

bool WeightOnlyPlan::needs_int4_dequantize() const {
  for (const auto& w : weights)
    if (w.quantized && w.grid.bits == 4 && w.format == WeightFormat::DequantizeLinear) return true;
  return false;
}

WeightOnlyPlan plan_weight_only(const Model& model, const WeightOnlyOptions& opt) {
  validate(opt);
  const Graph g(model.proto().graph());
  const NodeMatcher excluder(opt.exclude, g);
  const std::vector<int> order = g.topological_order();
  const std::set<int> projections = output_projections(g, order);
  WeightOnlyPlan plan{opt, {}};
  std::set<std::string> bits_for_used;

  // Pass 1: a decision per slot; tensors read by anything that is not a quantizable slot are noted.
  std::map<std::string, std::string> float_readers;  // tensor -> a node that reads it in float
  for (int i : order) {
    const auto& n = g.node(i);
    for (int k = 0; k < n.input_size(); ++k) {
      const auto* init = g.initializer(n.input(k));
      if (!init || init->data_type() != onnx::TensorProto::FLOAT) continue;
      const auto slot = weight_slot(n, init->dims_size());
      if (!slot || slot->input != k) {
        float_readers.emplace(n.input(k), fmt::format("{} '{}' (input {})", n.op_type(), n.name(), k));
        continue;
      }
      WeightDecision d;
      d.tensor = n.input(k);
      d.consumer = n.name();
      d.consumer_output = n.output_size() ? n.output(0) : "";
      d.op_type = n.op_type();
      d.input_index = k;
      d.shape.assign(init->dims().begin(), init->dims().end());
      d.channel_axis = slot->channel_axis;
      d.input_axis = slot->block_axis;
      const int64_t elements = element_count(d.shape);
      int bits = opt.bits;
      std::string why_bits;
      if (bits == 4 && (slot->embedding || projections.count(i))) {
        bits = 8;
        why_bits = slot->embedding ? "embedding table stays 8-bit" : "output projection stays 8-bit";
      }
      for (const std::string& key : {d.consumer, d.tensor})
        if (auto it = opt.bits_for.find(key); it != opt.bits_for.end()) {
          bits = it->second;
          why_bits = fmt::format("--bits-for {}={}", key, bits);
          bits_for_used.insert(key);
        }
      if (auto p = excluder.match(n, d.tensor)) {
        d.reason = fmt::format("fp32: excluded by --exclude '{}'", *p);
      } else if (elements < opt.min_elements) {
        d.reason = fmt::format("fp32: {} elements < --min-elements {}", elements, opt.min_elements);
      } else {
        d.quantized = true;
        assign_grid(d, bits, opt, slot->embedding, n.op_type() == "MatMul" && d.shape.size() == 2);
        if (!why_bits.empty()) d.reason += "; " + why_bits;
      }
      plan.weights.push_back(std::move(d));
    }
  }
  // Readers inside subgraphs read the float tensor too.
  for (const auto& d : plan.weights)
    if (!g.subgraph_consumers(d.tensor).empty()) float_readers.emplace(d.tensor, "a subgraph");
  // Pass 2: a tensor with a float reader, or a graph output, stays float for every slot.
  for (auto& d : plan.weights) {
    if (!d.quantized) continue;
    if (auto it = float_readers.find(d.tensor); it != float_readers.end()) {
      d.quantized = false;
      d.reason = fmt::format("fp32: also read in float by {}; quantizing would store it twice", it->second);
    } else if (g.is_graph_output(d.tensor)) {
      d.quantized = false;
      d.reason = "fp32: the tensor is a graph output";
    }
  }
  // Pass 3: a tensor read by several nodes is stored once, so its readers must agree: at the most
  // bits any of them wants (an 8-bit output projection sharing its weight with 4-bit blocks keeps the
  // weight 8-bit everywhere), and in DequantizeLinear form when they differ in format.
  std::map<std::string, int> max_bits;
  std::map<std::string, std::set<std::string>> formats;
  for (const auto& d : plan.weights)
    if (d.quantized) {
      max_bits[d.tensor] = std::max(max_bits[d.tensor], d.grid.bits);
      formats[d.tensor].insert(weight_format_name(d.format));
    }
  for (auto& d : plan.weights) {
    if (!d.quantized) continue;
    const int bits = max_bits[d.tensor];
    const bool mixed = formats[d.tensor].size() > 1;
    if (bits == d.grid.bits && !mixed) continue;
    WeightOnlyOptions o = opt;
    if (mixed) o.matmul_nbits = false;
    assign_grid(d, bits, o, d.op_type == "Gather", d.op_type == "MatMul" && d.shape.size() == 2);
    d.reason += "; shared with another reader that needs this form (the weight is stored once)";
  }
  for (const auto& [name, b] : opt.bits_for)
    if (!bits_for_used.count(name)) throw UsageError(fmt::format("--bits-for {}={}: no weight or weighted node has that name", name, b));
  return plan;
}

nlohmann::json weight_plan_to_json(const WeightOnlyPlan& plan) {
  nlohmann::json weights = nlohmann::json::array();
  for (const auto& w : plan.weights) {
    nlohmann::json j{{"tensor", w.tensor},     {"consumer", w.consumer}, {"op_type", w.op_type}, {"input_index", w.input_index},
                     {"shape", w.shape},       {"quantized", w.quantized}, {"reason", w.reason}};
    if (w.quantized) {
      j["bits"] = w.grid.bits;
      j["symmetric"] = w.grid.scheme == WeightScheme::Symmetric;
      j["granularity"] = w.grid.grouping == WeightGrouping::PerTensor ? "per_tensor" : w.grid.grouping == WeightGrouping::PerChannel ? "per_channel" : "blocked";
      j["axis"] = w.grid.grouping == WeightGrouping::PerTensor ? nlohmann::json(nullptr) : nlohmann::json(w.grid.axis);
      j["block_size"] = w.grid.grouping == WeightGrouping::Blocked ? nlohmann::json(w.grid.block_size) : nlohmann::json(nullptr);
      j["format"] = weight_format_name(w.format);
    }
    weights.push_back(std::move(j));
  }
  const auto& o = plan.options;
  return {{"bits", o.bits},
          {"symmetric", o.scheme == WeightScheme::Symmetric},
          {"per_tensor", o.per_tensor},
          {"block_size", o.block_size},
          {"min_elements", o.min_elements},
          {"matmul_nbits", o.matmul_nbits},
          {"accuracy_level", o.accuracy_level},
          {"quantized", plan.quantized_count()},
          {"weights", weights}};
}

}  // namespace onnxquant
