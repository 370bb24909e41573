#include "analysis/inspect.h"

#include <onnx/onnx_pb.h>

#include <algorithm>

#include "ir/model.h"

namespace onnxquant {

namespace {

// Walks one graph: counts its nodes into the totals and records each subgraph it owns. Returns the number
// of nodes in `graph` and everything nested in it.
int64_t walk(const onnx::GraphProto& graph, int depth, ModelSummary& s) {
  int64_t nested = graph.node_size();
  for (const auto& node : graph.node()) {
    const std::string op = qualified_op(node);
    ++s.ops_total[op];
    if (depth == 0) ++s.ops[op];
    for (const auto& a : node.attribute()) {
      std::vector<const onnx::GraphProto*> owned;
      if (a.has_g()) owned.push_back(&a.g());
      for (const auto& g : a.graphs()) owned.push_back(&g);
      for (const auto* g : owned) {
        // Reserve the slot before recursing so the list reads outer-first (depth-first pre-order).
        const size_t slot = s.subgraphs.size();
        s.subgraphs.push_back(SubgraphSummary{node.name(), op, a.name(), depth + 1, g->node_size(), 0});
        const int64_t inner = walk(*g, depth + 1, s);
        s.subgraphs[slot].nodes_nested = inner;
        nested += inner;
      }
    }
  }
  return nested;
}

std::string opset_domain(const std::string& domain) { return domain.empty() ? "ai.onnx" : domain; }

}  // namespace

ModelSummary inspect_model(const Model& model, const InspectOptions& options) {
  const onnx::ModelProto& m = model.proto();
  const onnx::GraphProto& g = m.graph();
  ModelSummary s;
  s.path = model.source().string();
  s.ir_version = m.ir_version();
  s.producer_name = m.producer_name();
  s.producer_version = m.producer_version();
  s.domain = m.domain();
  s.model_version = m.model_version();
  s.has_doc_string = !m.doc_string().empty() || !g.doc_string().empty();
  s.graph_name = g.name();
  for (const auto& op : m.opset_import()) s.opsets[opset_domain(op.domain())] = op.version();
  s.inputs = graph_inputs(g);
  s.outputs = graph_outputs(g);

  s.nodes = g.node_size();
  s.nodes_total = walk(g, 0, s);

  std::vector<ParamTensor> params = collect_parameters(g);
  for (const auto& p : params) {
    s.parameters.total.add(p);
    (p.source == TensorSource::Initializer ? s.parameters.initializers : s.parameters.constant_nodes).add(p);
    s.parameters.by_dtype[p.dtype].add(p);
  }
  const size_t top = static_cast<size_t>(std::max(0, options.largest_tensors));
  const size_t keep = std::min(top, params.size());
  std::partial_sort(params.begin(), params.begin() + static_cast<std::ptrdiff_t>(keep), params.end(),
                    [](const ParamTensor& a, const ParamTensor& b) {
                      return a.bytes != b.bytes ? a.bytes > b.bytes : a.name < b.name;
                    });
  for (size_t i = 0; i < keep; ++i)
    s.largest_tensors.push_back(TensorEntry{params[i].name, params[i].source, params[i].dtype, params[i].shape, params[i].bytes});

  for (const auto& kv : m.metadata_props()) s.metadata.emplace_back(kv.key(), kv.value());
  s.file_bytes = file_size_of(model.source());
  s.model_bytes = model.byte_size();
  return s;
}

namespace {

nlohmann::json tally_json(const TensorTally& t) {
  return {{"tensors", t.tensors}, {"elements", t.elements}, {"bytes", t.bytes}};
}

nlohmann::json optional_json(const std::optional<uint64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

}  // namespace

nlohmann::json to_json(const ModelSummary& s) {
  using nlohmann::json;
  json inputs = json::array(), outputs = json::array();
  for (const auto& io : s.inputs) inputs.push_back(to_json(io));
  for (const auto& io : s.outputs) outputs.push_back(to_json(io));

  json by_dtype = json::object();
  for (const auto& [dtype, tally] : s.parameters.by_dtype) by_dtype[dtype_name(dtype)] = tally_json(tally);

  json largest = json::array();
  for (const auto& t : s.largest_tensors)
    largest.push_back({{"name", t.name},
                       {"source", tensor_source_name(t.source)},
                       {"dtype", dtype_name(t.dtype)},
                       {"shape", shape_to_json(t.shape)},
                       {"bytes", t.bytes}});

  json subgraphs = json::array();
  for (const auto& sg : s.subgraphs)
    subgraphs.push_back({{"owner", sg.owner_name},
                         {"op_type", sg.owner_op},
                         {"attribute", sg.attribute},
                         {"depth", sg.depth},
                         {"nodes", sg.nodes},
                         {"nodes_nested", sg.nodes_nested}});

  json metadata = json::object();
  for (const auto& [k, v] : s.metadata) metadata[k] = v;

  return {
      {"command", "inspect"},
      {"schema_version", 1},
      {"path", s.path},
      {"model",
       {{"ir_version", s.ir_version},
        {"producer_name", s.producer_name},
        {"producer_version", s.producer_version},
        {"domain", s.domain},
        {"model_version", s.model_version},
        {"graph_name", s.graph_name},
        {"has_doc_string", s.has_doc_string},
        {"metadata", metadata}}},
      {"opsets", s.opsets},
      {"inputs", inputs},
      {"outputs", outputs},
      {"nodes", {{"main_graph", s.nodes}, {"total", s.nodes_total}}},
      {"ops", s.ops},
      {"ops_total", s.ops_total},
      {"subgraphs", subgraphs},
      {"parameters",
       {{"total", tally_json(s.parameters.total)},
        {"initializers", tally_json(s.parameters.initializers)},
        {"constant_nodes", tally_json(s.parameters.constant_nodes)},
        {"by_dtype", by_dtype}}},
      {"largest_tensors", largest},
      {"size", {{"file_bytes", optional_json(s.file_bytes)}, {"model_bytes", s.model_bytes}}},
  };
}

}  // namespace onnxquant
