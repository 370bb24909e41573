#include "analysis/diff.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

#include "ir/model.h"

namespace onnxquant {

const char* tensor_change_name(TensorChangeKind kind) {
  switch (kind) {
    case TensorChangeKind::DType: return "dtype";
    case TensorChangeKind::Shape: return "shape";
    case TensorChangeKind::Values: return "values";
  }
  return "values";
}

std::optional<double> SizePair::ratio() const {
  if (!a || !b || *a == 0) return std::nullopt;
  return static_cast<double>(*b) / static_cast<double>(*a);
}

namespace {

IoDiff diff_io(const std::vector<IoEntry>& a, const std::vector<IoEntry>& b) {
  IoDiff d;
  std::map<std::string, const IoEntry*> in_b;
  for (const auto& e : b) in_b[e.name] = &e;
  std::set<std::string> in_a;
  for (const auto& e : a) {
    in_a.insert(e.name);
    auto it = in_b.find(e.name);
    if (it == in_b.end()) d.removed.push_back(e);
    else if (!same_type(e, *it->second)) d.changed.push_back(IoChange{e, *it->second});
  }
  for (const auto& e : b)
    if (!in_a.count(e.name)) d.added.push_back(e);
  return d;
}

void count_ops(const onnx::GraphProto& g, std::map<std::string, int64_t>& ops, int64_t& total) {
  for (const auto& node : g.node()) {
    ++ops[qualified_op(node)];
    ++total;
    for (const auto& a : node.attribute()) {
      if (a.has_g()) count_ops(a.g(), ops, total);
      for (const auto& sub : a.graphs()) count_ops(sub, ops, total);
    }
  }
}

bool is_constant(const onnx::NodeProto& n) {
  return n.op_type() == "Constant" && (n.domain().empty() || n.domain() == "ai.onnx");
}

// Multiset of the main graph's non-Constant nodes, each serialized without its name and doc string.
std::unordered_map<std::string, int64_t> node_signatures(const onnx::GraphProto& g) {
  std::unordered_map<std::string, int64_t> out;
  for (const auto& node : g.node()) {
    if (is_constant(node)) continue;
    onnx::NodeProto copy = node;
    copy.clear_name();
    copy.clear_doc_string();
    ++out[copy.SerializeAsString()];
  }
  return out;
}

// Nodes of `a` without an identical counterpart in `b` (counting duplicates).
int64_t unmatched(const std::unordered_map<std::string, int64_t>& a, const std::unordered_map<std::string, int64_t>& b) {
  int64_t n = 0;
  for (const auto& [sig, count] : a) {
    auto it = b.find(sig);
    n += std::max<int64_t>(0, count - (it == b.end() ? 0 : it->second));
  }
  return n;
}

TensorInfo info_of(const ParamTensor& t) { return TensorInfo{t.name, t.source, t.dtype, t.shape, t.bytes}; }

// Names are unique within a model by ONNX's SSA rule; a malformed model that repeats one keeps each
// occurrence apart ("name#2") rather than silently comparing the wrong pair.
std::map<std::string, const ParamTensor*> by_name(const std::vector<ParamTensor>& tensors) {
  std::map<std::string, const ParamTensor*> out;
  for (const auto& t : tensors) {
    std::string key = t.name;
    for (int i = 2; out.count(key); ++i) key = t.name + "#" + std::to_string(i);
    out[key] = &t;
  }
  return out;
}

bool same_content(const ParamTensor& a, const ParamTensor& b) {
  // The common case (both raw_data) compares in place; copying 100 MB of weights to compare them would
  // double the memory diff needs.
  if (a.proto && b.proto && a.proto->has_raw_data() && b.proto->has_raw_data()) return a.proto->raw_data() == b.proto->raw_data();
  return param_content(a) == param_content(b);
}

TensorDiff diff_tensors(const std::vector<ParamTensor>& a, const std::vector<ParamTensor>& b) {
  TensorDiff d;
  const auto map_a = by_name(a), map_b = by_name(b);
  for (const auto& [name, ta] : map_a) {
    auto it = map_b.find(name);
    if (it == map_b.end()) {
      d.removed.push_back(info_of(*ta));
      continue;
    }
    const ParamTensor& tb = *it->second;
    TensorChange c{TensorChangeKind::Values, info_of(*ta), info_of(tb), std::nullopt};
    if (ta->dtype != tb.dtype) c.kind = TensorChangeKind::DType;
    else if (ta->shape != tb.shape) c.kind = TensorChangeKind::Shape;
    else if (same_content(*ta, tb)) {
      ++d.unchanged;
      continue;
    } else c.max_abs_diff = max_abs_difference(*ta, tb);
    d.changed.push_back(std::move(c));
  }
  for (const auto& [name, tb] : map_b)
    if (!map_a.count(name)) d.added.push_back(info_of(*tb));
  return d;
}

void field(std::vector<FieldChange>& out, const char* name, const std::string& a, const std::string& b) {
  if (a != b) out.push_back(FieldChange{name, a, b});
}

uint64_t total_bytes(const std::vector<ParamTensor>& tensors) {
  uint64_t n = 0;
  for (const auto& t : tensors) n += t.bytes;
  return n;
}

}  // namespace

ModelDiff diff_models(const Model& a, const Model& b) {
  const onnx::ModelProto &ma = a.proto(), &mb = b.proto();
  const onnx::GraphProto &ga = ma.graph(), &gb = mb.graph();
  ModelDiff d;
  d.path_a = a.source().string();
  d.path_b = b.source().string();

  field(d.model_fields, "ir_version", std::to_string(ma.ir_version()), std::to_string(mb.ir_version()));
  field(d.model_fields, "producer_name", ma.producer_name(), mb.producer_name());
  field(d.model_fields, "producer_version", ma.producer_version(), mb.producer_version());
  field(d.model_fields, "domain", ma.domain(), mb.domain());
  field(d.model_fields, "model_version", std::to_string(ma.model_version()), std::to_string(mb.model_version()));

  std::map<std::string, std::pair<int64_t, int64_t>> opsets;
  for (const auto& op : ma.opset_import()) opsets[op.domain().empty() ? "ai.onnx" : op.domain()].first = op.version();
  for (const auto& op : mb.opset_import()) opsets[op.domain().empty() ? "ai.onnx" : op.domain()].second = op.version();
  for (const auto& [domain, v] : opsets)
    if (v.first != v.second) d.opsets.push_back(OpsetChange{domain, v.first, v.second});

  d.inputs = diff_io(graph_inputs(ga), graph_inputs(gb));
  d.outputs = diff_io(graph_outputs(ga), graph_outputs(gb));

  d.nodes_a = ga.node_size();
  d.nodes_b = gb.node_size();
  std::map<std::string, int64_t> ops_a, ops_b;
  count_ops(ga, ops_a, d.nodes_total_a);
  count_ops(gb, ops_b, d.nodes_total_b);
  std::set<std::string> op_names;
  for (const auto& kv : ops_a) op_names.insert(kv.first);
  for (const auto& kv : ops_b) op_names.insert(kv.first);
  for (const auto& op : op_names) {
    const int64_t x = ops_a.count(op) ? ops_a.at(op) : 0, y = ops_b.count(op) ? ops_b.at(op) : 0;
    if (x != y) d.op_counts.push_back(OpCountChange{op, x, y});
  }
  const auto sig_a = node_signatures(ga), sig_b = node_signatures(gb);
  d.nodes_only_in_a = unmatched(sig_a, sig_b);
  d.nodes_only_in_b = unmatched(sig_b, sig_a);

  const std::vector<ParamTensor> pa = collect_parameters(ga), pb = collect_parameters(gb);
  d.tensors = diff_tensors(pa, pb);

  d.parameter_bytes = SizePair{total_bytes(pa), total_bytes(pb)};
  d.model_bytes = SizePair{a.byte_size(), b.byte_size()};
  d.file_bytes = SizePair{file_size_of(a.source()), file_size_of(b.source())};

  d.identical = d.model_fields.empty() && d.opsets.empty() && d.inputs.empty() && d.outputs.empty() &&
                d.op_counts.empty() && d.nodes_only_in_a == 0 && d.nodes_only_in_b == 0 && d.tensors.empty();
  return d;
}

namespace {

nlohmann::json tensor_json(const TensorInfo& t) {
  return {{"name", t.name},
          {"source", tensor_source_name(t.source)},
          {"dtype", dtype_name(t.dtype)},
          {"shape", shape_to_json(t.shape)},
          {"bytes", t.bytes}};
}

nlohmann::json io_json(const IoDiff& d) {
  nlohmann::json added = nlohmann::json::array(), removed = nlohmann::json::array(), changed = nlohmann::json::array();
  for (const auto& e : d.added) added.push_back(to_json(e));
  for (const auto& e : d.removed) removed.push_back(to_json(e));
  for (const auto& c : d.changed)
    changed.push_back({{"name", c.before.name}, {"a", to_json(c.before)}, {"b", to_json(c.after)}});
  return {{"added", added}, {"removed", removed}, {"changed", changed}};
}

nlohmann::json size_json(const SizePair& s) {
  auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  return {{"a", opt(s.a)}, {"b", opt(s.b)}, {"ratio", opt(s.ratio())}};
}

}  // namespace

nlohmann::json to_json(const ModelDiff& d) {
  using nlohmann::json;
  json fields = json::array();
  for (const auto& f : d.model_fields) fields.push_back({{"field", f.field}, {"a", f.before}, {"b", f.after}});
  json opsets = json::array();
  for (const auto& o : d.opsets) opsets.push_back({{"domain", o.domain}, {"a", o.before}, {"b", o.after}});
  json ops = json::array();
  for (const auto& o : d.op_counts) ops.push_back({{"op_type", o.op}, {"a", o.before}, {"b", o.after}, {"delta", o.after - o.before}});

  json added = json::array(), removed = json::array(), changed = json::array();
  for (const auto& t : d.tensors.added) added.push_back(tensor_json(t));
  for (const auto& t : d.tensors.removed) removed.push_back(tensor_json(t));
  for (const auto& c : d.tensors.changed) {
    json entry = {{"name", c.before.name}, {"change", tensor_change_name(c.kind)}, {"a", tensor_json(c.before)}, {"b", tensor_json(c.after)}};
    // NaN is not JSON; a NaN difference (one side has NaN) is reported as null like "not computed".
    if (c.max_abs_diff && !std::isnan(*c.max_abs_diff)) entry["max_abs_diff"] = *c.max_abs_diff;
    else entry["max_abs_diff"] = nullptr;
    changed.push_back(std::move(entry));
  }

  return {
      {"command", "diff"},
      {"schema_version", 1},
      {"a", d.path_a},
      {"b", d.path_b},
      {"identical", d.identical},
      {"model_fields", fields},
      {"opsets", opsets},
      {"inputs", io_json(d.inputs)},
      {"outputs", io_json(d.outputs)},
      {"nodes",
       {{"main_graph", {{"a", d.nodes_a}, {"b", d.nodes_b}}},
        {"total", {{"a", d.nodes_total_a}, {"b", d.nodes_total_b}}},
        {"only_in_a", d.nodes_only_in_a},
        {"only_in_b", d.nodes_only_in_b}}},
      {"op_counts", ops},
      {"tensors", {{"added", added}, {"removed", removed}, {"changed", changed}, {"unchanged", d.tensors.unchanged}}},
      {"size",
       {{"parameter_bytes", size_json(d.parameter_bytes)},
        {"model_bytes", size_json(d.model_bytes)},
        {"file_bytes", size_json(d.file_bytes)}}},
  };
}

}  // namespace onnxquant
