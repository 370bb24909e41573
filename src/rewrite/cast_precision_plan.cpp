#include "rewrite/cast_precision_plan.h"

#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <fmt/format.h>
#include <map>
#include <numeric>

#include "core/errors.h"
#include "ir/graph.h"
#include "ir/model.h"
#include "ir/shape_inference.h"

namespace onnxquant {

bool NodeCastPlan::any_half() const {
  for (const auto& p : inputs)
    if (p == Precision::Half) return true;
  for (const auto& p : outputs)
    if (p == Precision::Half) return true;
  return retype_cast;
}

bool CastPlan::is_float32(const std::string& name) const {
  auto it = types.find(name);
  return it != types.end() && it->second == DType::Float32;
}

namespace {

using Formal = onnx::OpSchema::FormalParameter;

constexpr double kFloat16Max = 65504.0;
// Weights at least this large stand for infinity (FLT_MAX clip bounds, -1e38 attention masks): clamping
// them to ±65504 keeps their meaning. Smaller values beyond ±65504 are real (PP-OCRv4 det has a
// BatchNorm variance of 9.8e7; clamping it drops the output cosine to 0.54), so their reader stays float32.
constexpr double kInfinityStandIn = 1e30;

bool is_default_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

bool has_subgraph(const onnx::NodeProto& n) {
  for (const auto& a : n.attribute())
    if (a.has_g() || a.graphs_size() > 0) return true;
  return false;
}

DType dtype_from_type_string(const std::string& s) {
  static const std::map<std::string, DType> table{
      {"tensor(float)", DType::Float32}, {"tensor(float16)", DType::Float16}, {"tensor(bfloat16)", DType::BFloat16},
      {"tensor(double)", DType::Float64}, {"tensor(int64)", DType::Int64},    {"tensor(int32)", DType::Int32},
      {"tensor(int16)", DType::Int16},    {"tensor(int8)", DType::Int8},      {"tensor(uint8)", DType::UInt8},
      {"tensor(uint16)", DType::UInt16},  {"tensor(uint32)", DType::UInt32},  {"tensor(uint64)", DType::UInt64},
      {"tensor(bool)", DType::Bool},      {"tensor(string)", DType::String}};
  auto it = table.find(s);
  return it == table.end() ? DType::Undefined : it->second;
}

// The schema's formal parameter for slot `index` (the last one repeats when it is variadic).
const Formal* formal_for(const std::vector<Formal>& params, int index) {
  if (index < static_cast<int>(params.size())) return &params[static_cast<size_t>(index)];
  if (!params.empty() && params.back().GetOption() == onnx::OpSchema::Variadic) return &params.back();
  return nullptr;
}

const onnx::OpSchema* schema_for(const onnx::NodeProto& n, int64_t opset) {
  if (!is_default_domain(n.domain())) return nullptr;
  return onnx::OpSchemaRegistry::Schema(n.op_type(), static_cast<int>(opset), "");
}

// A copy of the model small enough to run shape inference on: big float weights lose their bytes
// (inference reads only their dims and type; it reads values of small shape-like tensors only).
onnx::ModelProto type_inference_copy(const onnx::ModelProto& m) {
  onnx::ModelProto copy;
  copy.set_ir_version(m.ir_version());
  *copy.mutable_opset_import() = m.opset_import();
  *copy.mutable_functions() = m.functions();
  auto* g = copy.mutable_graph();
  const auto& src = m.graph();
  g->set_name(src.name());
  *g->mutable_node() = src.node();
  *g->mutable_input() = src.input();
  *g->mutable_output() = src.output();
  *g->mutable_value_info() = src.value_info();
  for (const auto& t : src.initializer()) {
    auto* c = g->add_initializer();
    int64_t n = 1;
    for (int64_t d : t.dims()) n *= d;
    if (n <= 4096) { *c = t; continue; }
    c->set_name(t.name());
    c->set_data_type(t.data_type());
    *c->mutable_dims() = t.dims();
  }
  return copy;
}

DType constant_node_type(const onnx::NodeProto& n) {
  for (const auto& a : n.attribute()) {
    if (a.name() == "value" && a.has_t()) return dtype_from_onnx(a.t().data_type());
    if (a.name() == "value_float" || a.name() == "value_floats") return DType::Float32;
    if (a.name() == "value_int" || a.name() == "value_ints") return DType::Int64;
    if (a.name() == "value_string" || a.name() == "value_strings") return DType::String;
  }
  return DType::Undefined;
}

std::unordered_map<std::string, DType> collect_types(const Model& model, const Graph& graph, const std::vector<int>& order) {
  std::unordered_map<std::string, DType> types;
  auto note = [&](const std::string& name, DType t) {
    if (!name.empty() && t != DType::Undefined) types.try_emplace(name, t);
  };
  {
    Model copy(std::make_unique<onnx::ModelProto>(type_inference_copy(model.proto())));
    infer_shapes(copy);  // best effort; what it misses is filled from the schemas below
    const auto& g = copy.proto().graph();
    for (const auto& v : g.input()) note(v.name(), value_type_from_proto(v).dtype);
    for (const auto& v : g.output()) note(v.name(), value_type_from_proto(v).dtype);
    for (const auto& v : g.value_info()) note(v.name(), value_type_from_proto(v).dtype);
  }
  for (const auto& t : model.proto().graph().initializer()) note(t.name(), dtype_from_onnx(t.data_type()));
  // Schema fallback: fixed output types, outputs sharing a constraint with a typed input, Cast's `to`.
  const int64_t opset = model.opset("");
  for (int i : order) {
    const auto& n = graph.node(i);
    if (!is_default_domain(n.domain())) continue;
    if (n.op_type() == "Constant") {
      if (n.output_size() > 0) note(n.output(0), constant_node_type(n));
      continue;
    }
    if (n.op_type() == "Cast") {
      for (const auto& a : n.attribute())
        if (a.name() == "to" && n.output_size() > 0) note(n.output(0), dtype_from_onnx(static_cast<int32_t>(a.i())));
      continue;
    }
    const auto* schema = schema_for(n, opset);
    if (!schema) continue;
    for (int o = 0; o < n.output_size(); ++o) {
      if (n.output(o).empty() || types.count(n.output(o))) continue;
      const Formal* f = formal_for(schema->outputs(), o);
      if (!f) continue;
      DType t = dtype_from_type_string(f->GetTypeStr());
      for (int k = 0; t == DType::Undefined && k < n.input_size(); ++k) {
        const Formal* fi = formal_for(schema->inputs(), k);
        auto it = types.find(n.input(k));
        if (fi && fi->GetTypeStr() == f->GetTypeStr() && it != types.end()) t = it->second;
      }
      note(n.output(o), t);
    }
  }
  return types;
}

// Slots of one node bound to one type string (a constraint name like "T", or a fixed "tensor(float)").
struct SlotGroup {
  std::vector<int> inputs, outputs;  // float32 slots only
  bool allows_half = false;          // a constraint whose allowed types include the half type
};

struct Planner {
  const Model& model;
  const Graph& graph;
  CastPlan& plan;
  std::string half_type_str;
  int64_t opset;
  bool cast_ok;  // Cast can convert between float32 and the half type at this opset

  const onnx::OpSchema* schema(int i) const { return schema_for(graph.node(i), opset); }

  bool constraint_allows(const onnx::OpSchema& s, const std::string& type_str, const std::string& wanted) const {
    for (const auto& c : s.typeConstraintParams())
      if (c.type_param_str == type_str)
        for (const auto& allowed : c.allowed_type_strs)
          if (allowed == wanted) return true;
    return false;  // fixed types ("tensor(float)") and constraints without `wanted`
  }
  bool constraint_allows_half(const onnx::OpSchema& s, const std::string& type_str) const {
    return constraint_allows(s, type_str, half_type_str);
  }

  // Largest finite magnitude of a float32 constant, ignoring stand-ins for infinity (rule 5).
  double largest_real_magnitude(const std::string& t) {
    if (auto it = magnitudes.find(t); it != magnitudes.end()) return it->second;
    double largest = 0;
    if (const auto v = graph.constant_value(t); v && v->dtype == DType::Float32)
      for (float x : v->as<float>())
        if (std::isfinite(x) && std::fabs(x) < kInfinityStandIn) largest = std::max(largest, static_cast<double>(std::fabs(x)));
    return magnitudes[t] = largest;
  }
  // Why the constants in `slots` cannot be stored in float16, or "" when they can (always for bfloat16).
  std::string overflow(const onnx::NodeProto& n, const std::vector<int>& slots) {
    if (half_type_str != "tensor(float16)") return {};
    for (int k : slots) {
      const std::string& t = n.input(k);
      if (!plan.constants.count(t)) continue;
      if (const double m = largest_real_magnitude(t); m > kFloat16Max)
        return fmt::format("weight '{}' exceeds the float16 range (|x| up to {:.3g})", t, m);
    }
    return {};
  }
  std::unordered_map<std::string, double> magnitudes;

  // Rule 2, first sentence: may this data-path node compute in half at all? Empty string = yes.
  std::string ineligibility(int i) const {
    const auto& n = graph.node(i);
    if (!cast_ok) return "Cast has no " + half_type_str + " at opset " + std::to_string(opset) + " (needed between precisions)";
    if (!is_default_domain(n.domain())) return "operator of domain '" + n.domain() + "' (no ONNX schema)";
    if (has_subgraph(n)) return "has a subgraph (kept float32)";
    const auto* s = schema(i);
    if (!s) return "no ONNX schema at opset " + std::to_string(opset);
    if (s->Deprecated()) return "deprecated operator";
    auto check = [&](const auto& names, const std::vector<Formal>& params) -> std::string {
      for (int k = 0; k < names.size(); ++k) {
        if (names.Get(k).empty()) continue;
        const Formal* f = formal_for(params, k);
        if (!f) return "more inputs/outputs than its schema declares";
        if (f->GetOption() == onnx::OpSchema::Variadic && !f->GetIsHomogeneous()) return "heterogeneous variadic slots";
        if (!plan.types.count(names.Get(k))) return "tensor types unknown ('" + names.Get(k) + "')";
      }
      return {};
    };
    if (auto r = check(n.input(), s->inputs()); !r.empty()) return r;
    return check(n.output(), s->outputs());
  }

  bool input_accepts_half(int j, int k) const {
    if (!plan.nodes[static_cast<size_t>(j)].eligible) return false;
    const auto* s = schema(j);
    const Formal* f = formal_for(s->inputs(), k);
    return f && constraint_allows_half(*s, f->GetTypeStr());
  }

  // Rule 3: everything reading the Cast's output computes in half, and no float32 boundary needs it.
  bool cast_may_retype(int i, const CastOptions& options) const {
    const auto& n = graph.node(i);
    if (n.output_size() != 1 || !plan.is_float32(n.output(0))) return false;
    const std::string& out = n.output(0);
    if (graph.is_graph_output(out) && options.io == IoTypes::KeepFloat32) return false;
    if (!graph.subgraph_consumers(out).empty()) return false;
    const auto& readers = graph.consumers(out);
    if (readers.empty() && !graph.is_graph_output(out)) return false;
    for (int j : readers) {
      const auto& r = graph.node(j);
      for (int k = 0; k < r.input_size(); ++k)
        if (r.input(k) == out && !input_accepts_half(j, k)) return false;
    }
    return true;
  }

  void plan_node(int i, const CastOptions& options) {
    auto& np = plan.nodes[static_cast<size_t>(i)];
    const auto& n = graph.node(i);
    np.inputs.assign(static_cast<size_t>(n.input_size()), std::nullopt);
    np.computes_half.assign(static_cast<size_t>(n.input_size()), false);
    np.outputs.assign(static_cast<size_t>(n.output_size()), std::nullopt);
    bool has_float_output = false;
    for (int k = 0; k < n.input_size(); ++k)
      if (plan.is_float32(n.input(k))) np.inputs[static_cast<size_t>(k)] = Precision::Float32;
    for (int k = 0; k < n.output_size(); ++k)
      if (plan.is_float32(n.output(k))) { np.outputs[static_cast<size_t>(k)] = Precision::Float32; has_float_output = true; }
    if (!np.data) return;
    if (!np.eligible) {
      if (has_float_output) np.float_reason = ineligibility(i);
      return;
    }
    const auto* s = schema(i);
    std::map<std::string, SlotGroup> groups;
    for (int k = 0; k < n.input_size(); ++k)
      if (np.inputs[static_cast<size_t>(k)]) groups[formal_for(s->inputs(), k)->GetTypeStr()].inputs.push_back(k);
    for (int k = 0; k < n.output_size(); ++k)
      if (np.outputs[static_cast<size_t>(k)]) groups[formal_for(s->outputs(), k)->GetTypeStr()].outputs.push_back(k);
    std::string reason;
    for (auto& [type_str, g] : groups) {
      g.allows_half = constraint_allows_half(*s, type_str);
      bool half = false;
      const std::string too_large = g.allows_half ? overflow(n, g.inputs) : "";
      if (!too_large.empty()) {
        if (reason.empty()) reason = too_large;
      } else if (!g.allows_half) {
        if (!g.outputs.empty() && reason.empty())
          reason = dtype_from_type_string(type_str) != DType::Undefined
                       ? "schema fixes its output to " + type_str
                       : "type constraint " + type_str + " excludes " + half_type_str + " at opset " + std::to_string(opset);
      } else if (!g.outputs.empty() && !g.inputs.empty()) {
        half = true;
      } else if (!g.outputs.empty()) {
        half = n.op_type() == "Cast" && cast_may_retype(i, options);
        np.retype_cast = half;
        if (!half && reason.empty()) reason = n.op_type() == "Cast" ? "a float32 consumer or graph output reads it"
                                                                    : "output type set by an attribute";
      } else {
        // Input-only constraint: adopt the arriving precision (no Cast for Shape, Cast, comparisons).
        for (int k : g.inputs) {
          const std::string& t = n.input(k);
          auto it = plan.produced.find(t);
          if (!plan.constants.count(t) && it != plan.produced.end() && it->second == Precision::Half) half = true;
        }
      }
      if (!half) continue;
      for (int k : g.inputs) {
        np.inputs[static_cast<size_t>(k)] = Precision::Half;
        np.computes_half[static_cast<size_t>(k)] = !g.outputs.empty();
      }
      for (int k : g.outputs) np.outputs[static_cast<size_t>(k)] = Precision::Half;
    }
    if (has_float_output && !np.any_half()) np.float_reason = reason.empty() ? "no float tensor may become half" : reason;
  }

  // Rule 1b: a node off the data path that only moves weights around (its type constraints admit
  // tensor(string), so it copies values and never computes with them) and whose float32 outputs are all
  // read by half compute slots moves to half itself, so the weight behind it is stored in half instead
  // of being kept in float32 and Cast at run time (PyTorch shares weights through Identity nodes).
  bool may_move_weights_in_half(int i, const std::unordered_set<std::string>& weight_derived) {
    const auto& n = graph.node(i);
    auto& np = plan.nodes[static_cast<size_t>(i)];
    if (np.data || n.op_type() == "Constant" || !ineligibility(i).empty()) return false;
    for (const auto& in : n.input())
      if (!in.empty() && !weight_derived.count(in)) return false;
    const auto* s = schema(i);
    bool any_float_output = false;
    auto admits = [&](const std::string& type_str) {
      return constraint_allows(*s, type_str, "tensor(string)") && constraint_allows_half(*s, type_str);
    };
    for (int k = 0; k < n.input_size(); ++k)
      if (np.inputs[static_cast<size_t>(k)] && !admits(formal_for(s->inputs(), k)->GetTypeStr())) return false;
    std::vector<int> all_inputs(static_cast<size_t>(n.input_size()));
    std::iota(all_inputs.begin(), all_inputs.end(), 0);
    if (!overflow(n, all_inputs).empty()) return false;
    for (int k = 0; k < n.output_size(); ++k) {
      if (!np.outputs[static_cast<size_t>(k)]) continue;
      if (!admits(formal_for(s->outputs(), k)->GetTypeStr())) return false;
      const std::string& t = n.output(k);
      if (graph.is_graph_output(t) || !graph.subgraph_consumers(t).empty() || graph.consumers(t).empty()) return false;
      for (int j : graph.consumers(t)) {
        const auto& r = graph.node(j);
        const auto& rp = plan.nodes[static_cast<size_t>(j)];
        for (int q = 0; q < r.input_size(); ++q)
          if (r.input(q) == t && !(rp.inputs[static_cast<size_t>(q)] == Precision::Half && rp.computes_half[static_cast<size_t>(q)])) return false;
      }
      any_float_output = true;
    }
    return any_float_output;
  }

  void move_weights_in_half(int i) {
    const auto& n = graph.node(i);
    auto& np = plan.nodes[static_cast<size_t>(i)];
    for (size_t k = 0; k < np.inputs.size(); ++k)
      if (np.inputs[k]) { np.inputs[k] = Precision::Half; np.computes_half[k] = true; }
    for (size_t k = 0; k < np.outputs.size(); ++k)
      if (np.outputs[k]) { np.outputs[k] = Precision::Half; plan.produced[n.output(static_cast<int>(k))] = Precision::Half; }
  }
};

}  // namespace

bool cast_supports(HalfType type, int64_t opset) {
  const auto* cast = onnx::OpSchemaRegistry::Schema("Cast", static_cast<int>(opset), "");
  if (!cast) return false;
  const std::string wanted = type == HalfType::Float16 ? "tensor(float16)" : "tensor(bfloat16)";
  for (const auto& c : cast->typeConstraintParams()) {
    bool found = false;
    for (const auto& t : c.allowed_type_strs) found |= t == wanted;
    if (!found) return false;  // both T1 (from) and T2 (to) must have it
  }
  return true;
}

CastPlan plan_cast(const Model& model, const CastOptions& options) {
  const auto& g = model.proto().graph();
  const Graph graph(g);
  std::vector<int> order;
  try {
    order = graph.topological_order();
  } catch (const LoadError& e) {
    throw UnsupportedOpError(std::string("cannot cast this graph: ") + e.what());
  }
  CastPlan plan;
  plan.types = collect_types(model, graph, order);
  plan.nodes.resize(static_cast<size_t>(graph.node_count()));

  for (const auto& t : g.initializer())
    if (t.data_type() == static_cast<int32_t>(DType::Float32)) plan.constants.insert(t.name());
  for (int i = 0; i < graph.node_count(); ++i) {
    const auto& n = graph.node(i);
    if (n.op_type() == "Constant" && is_default_domain(n.domain()) && n.output_size() == 1 && plan.is_float32(n.output(0)))
      plan.constants.insert(n.output(0));
  }
  const Precision io = options.io == IoTypes::Half ? Precision::Half : Precision::Float32;
  for (const auto& name : graph.input_names())
    if (plan.is_float32(name)) plan.produced[name] = io;

  // Rule 1: data dependence flows from graph inputs through every node except Shape and Size.
  std::unordered_set<std::string> data;
  for (const auto& name : graph.input_names()) data.insert(name);
  for (int i : order) {
    const auto& n = graph.node(i);
    bool reads_data = false;
    for (const auto& in : n.input()) reads_data |= data.count(in) > 0;
    for (const auto& a : n.attribute()) {
      auto captured = [&](const onnx::GraphProto& sub) {
        for (const auto& name : Graph::outer_scope_names(sub)) reads_data |= data.count(name) > 0;
      };
      if (a.has_g()) captured(a.g());
      for (const auto& sub : a.graphs()) captured(sub);
    }
    plan.nodes[static_cast<size_t>(i)].data = reads_data;
    const bool shape_info = is_default_domain(n.domain()) && (n.op_type() == "Shape" || n.op_type() == "Size");
    if (reads_data && !shape_info)
      for (const auto& out : n.output()) data.insert(out);
  }

  Planner planner{model, graph, plan, options.type == HalfType::Float16 ? "tensor(float16)" : "tensor(bfloat16)", model.opset(""),
                  cast_supports(options.type, model.opset(""))};
  for (int i = 0; i < graph.node_count(); ++i) {
    auto& np = plan.nodes[static_cast<size_t>(i)];
    np.eligible = np.data && planner.ineligibility(i).empty();
  }
  for (int i : order) {
    planner.plan_node(i, options);
    const auto& n = graph.node(i);
    const auto& np = plan.nodes[static_cast<size_t>(i)];
    for (int k = 0; k < n.output_size(); ++k)
      if (np.outputs[static_cast<size_t>(k)] && !plan.constants.count(n.output(k))) plan.produced[n.output(k)] = *np.outputs[static_cast<size_t>(k)];
  }

  // Rule 1b, readers before producers so that chains (Identity -> Transpose -> MatMul) move together.
  std::unordered_set<std::string> weight_derived;
  for (const auto& t : g.initializer()) weight_derived.insert(t.name());
  for (int i : order) {
    const auto& n = graph.node(i);
    bool from_weights = !plan.nodes[static_cast<size_t>(i)].data && !has_subgraph(n);
    for (const auto& in : n.input()) from_weights &= in.empty() || weight_derived.count(in) > 0;
    if (from_weights && !(n.op_type() == "Shape" || n.op_type() == "Size"))
      for (const auto& out : n.output()) weight_derived.insert(out);
  }
  for (auto it = order.rbegin(); it != order.rend(); ++it)
    if (planner.may_move_weights_in_half(*it, weight_derived)) planner.move_weights_in_half(*it);
  return plan;
}

}  // namespace onnxquant
