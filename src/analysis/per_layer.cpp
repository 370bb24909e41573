#include "analysis/per_layer.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "analysis/model_facts.h"
#include "ir/graph.h"
#include "ir/model.h"
#include "rewrite/expose_tensors.h"

namespace onnxquant {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Scale and zero point of a per-tensor QuantizeLinear, for dequantizing its output on the host.
struct QuantParams {
  float scale = 1;
  int32_t zero_point = 0;
};

struct Probe {
  std::string ref_name, cand_name;
  LayerProbe kind = LayerProbe::Direct;
  QuantParams q;
  std::string node, op_type;
  int position = 0;
  std::vector<std::string> reads;  // inputs of the reference producer (to find the error it adds)
  CompareAccumulator acc;
  bool compared = false;
};

std::optional<double> scalar_value(const Graph& g, const std::string& name) {
  if (name.empty()) return std::nullopt;
  auto t = g.constant_value(name);
  if (!t || t->elements() != 1) return std::nullopt;
  try {
    return t->to_doubles().at(0);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// A per-tensor QuantizeLinear reading `tensor` whose output a DequantizeLinear reads: the value the next
// layer sees. Per-axis or non-constant parameters are not dequantized here (nullopt: expose directly).
std::optional<std::pair<std::string, QuantParams>> quantized_probe(const Graph& g, const std::string& tensor) {
  for (int c : g.consumers(tensor)) {
    const auto& q = g.node(c);
    if (q.op_type() != "QuantizeLinear" || q.input_size() < 2 || q.input(0) != tensor || q.output_size() < 1) continue;
    bool feeds_dq = false;
    for (int d : g.consumers(q.output(0))) feeds_dq = feeds_dq || g.node(d).op_type() == "DequantizeLinear";
    const auto scale = scalar_value(g, q.input(1));
    if (!feeds_dq || !scale) continue;
    QuantParams p;
    p.scale = static_cast<float>(*scale);
    if (q.input_size() > 2) {
      const auto zp = scalar_value(g, q.input(2));
      if (!zp) continue;
      p.zero_point = static_cast<int32_t>(*zp);
    }
    return std::make_pair(q.output(0), p);
  }
  return std::nullopt;
}

// DequantizeLinear's formula, in float as ORT computes it.
Tensor dequantize(const Tensor& t, const QuantParams& q) {
  Tensor out(DType::Float32, t.shape);
  const std::vector<double> v = t.to_doubles();
  auto dst = out.as<float>();
  for (size_t i = 0; i < v.size(); ++i) dst[i] = static_cast<float>(static_cast<int32_t>(v[i]) - q.zero_point) * q.scale;
  return out;
}

double nsr(const CompareStats& s) {
  if (std::isinf(s.sqnr_db)) return s.sqnr_db > 0 ? 0.0 : kInf;
  return std::pow(10.0, -s.sqnr_db / 10.0);
}

Model exposed(const Model& model, const std::vector<std::string>& names) {
  Model m = model.clone();
  ExposeTensors(names).run(m);
  return m;
}

}  // namespace

const char* layer_probe_name(LayerProbe probe) { return probe == LayerProbe::Quantized ? "quantized" : "direct"; }

struct PerLayerComparison::Impl {
  std::vector<Probe> probes;
  std::optional<Executor> reference, candidate;
  std::vector<std::string> ref_outputs, cand_outputs;
};

PerLayerComparison::PerLayerComparison(const Model& reference, const Model& candidate, const ExecOptions& exec)
    : impl_(std::make_unique<Impl>()) {
  const Graph rg(reference.proto().graph());
  const Graph cg(candidate.proto().graph());
  const std::vector<std::string> order = intermediate_tensor_names(reference);
  // Tensors computed from weights alone (Constant nodes, Identity of an initializer: Paddle and torch
  // exports have them) are parameters, not layers.
  std::set<std::string> constant;
  for (int n : rg.topological_order()) {
    const auto& node = rg.node(n);
    bool from_constants = true;
    for (const auto& in : node.input()) from_constants = from_constants && (in.empty() || constant.count(in) || rg.initializer(in));
    if (from_constants)
      for (const auto& out : node.output()) constant.insert(out);
  }
  std::set<std::string> seen;
  for (const std::string& name : order) {
    if (!seen.insert(name).second || cg.producer(name) < 0) continue;
    if (auto type = rg.value_type(name); type && type->dtype != DType::Undefined && !dtype_is_float(type->dtype)) continue;
    if (constant.count(name)) continue;
    const auto& producer = rg.node(rg.producer(name));
    Probe p;
    p.ref_name = p.cand_name = name;
    p.position = static_cast<int>(impl_->probes.size());
    p.node = producer.name();
    p.op_type = qualified_op(producer);
    for (const auto& in : producer.input()) p.reads.push_back(in);
    if (auto q = quantized_probe(cg, name)) {
      p.kind = LayerProbe::Quantized;
      p.cand_name = q->first;
      p.q = q->second;
    }
    impl_->ref_outputs.push_back(p.ref_name);
    impl_->cand_outputs.push_back(p.cand_name);
    impl_->probes.push_back(std::move(p));
  }
  impl_->reference.emplace(exposed(reference, impl_->ref_outputs), exec);
  impl_->candidate.emplace(exposed(candidate, impl_->cand_outputs), exec);
}

PerLayerComparison::PerLayerComparison(PerLayerComparison&&) noexcept = default;
PerLayerComparison::~PerLayerComparison() = default;

int PerLayerComparison::shared_tensors() const { return static_cast<int>(impl_->probes.size()); }

void PerLayerComparison::add(const NamedTensors& reference_inputs, const NamedTensors& candidate_inputs) {
  if (impl_->probes.empty()) return;
  const NamedTensors a = impl_->reference->run(reference_inputs, impl_->ref_outputs);
  const NamedTensors b = impl_->candidate->run(candidate_inputs, impl_->cand_outputs);
  for (auto& p : impl_->probes) {
    auto ia = a.find(p.ref_name);
    auto ib = b.find(p.cand_name);
    if (ia == a.end() || ib == b.end()) continue;
    const Tensor& ref = ia->second;
    // Shape tensors and masks are not layers; a shape that differs means the names do not denote the
    // same value in both graphs (a rewrite reused a name), so there is nothing to compare.
    if (!dtype_is_float(ref.dtype) || ref.shape != ib->second.shape) continue;
    if (p.kind == LayerProbe::Quantized) p.acc.add(ref, dequantize(ib->second, p.q), p.ref_name);
    else if (dtype_is_float(ib->second.dtype)) p.acc.add(ref, ib->second, p.ref_name);
    else continue;
    p.compared = true;
  }
}

std::vector<LayerError> PerLayerComparison::result() const {
  std::map<std::string, double> nsr_of;
  for (const auto& p : impl_->probes)
    if (p.compared) nsr_of[p.ref_name] = nsr(p.acc.stats());
  std::vector<LayerError> out;
  for (const auto& p : impl_->probes) {
    if (!p.compared) continue;
    LayerError e;
    e.tensor = p.ref_name;
    e.node = p.node;
    e.op_type = p.op_type;
    e.position = p.position;
    e.probe = p.kind;
    e.stats = p.acc.stats();
    // Inputs that were not compared (graph inputs, weights) count as exact.
    double worst_input = 0;
    for (const auto& in : p.reads)
      if (auto it = nsr_of.find(in); it != nsr_of.end()) worst_input = std::max(worst_input, it->second);
    const double own = nsr_of[p.ref_name];
    const double added = std::isinf(own) ? (std::isinf(worst_input) ? 0.0 : kInf) : own - worst_input;
    e.local_sqnr_db = added <= 0 ? kInf : std::isinf(added) ? -kInf : -10.0 * std::log10(added);
    out.push_back(std::move(e));
  }
  rank_layers(out);
  return out;
}

void rank_layers(std::vector<LayerError>& layers) {
  std::stable_sort(layers.begin(), layers.end(), [](const LayerError& a, const LayerError& b) {
    if (a.local_sqnr_db != b.local_sqnr_db) return a.local_sqnr_db < b.local_sqnr_db;
    if (a.stats.sqnr_db != b.stats.sqnr_db) return a.stats.sqnr_db < b.stats.sqnr_db;
    return a.position < b.position;
  });
}

}  // namespace onnxquant
