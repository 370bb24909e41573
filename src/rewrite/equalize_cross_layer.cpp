#include "rewrite/equalize_cross_layer.h"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "ir/graph.h"
#include "ir/model.h"
#include "ir/tensor_proto.h"

namespace onnxquant {

namespace {

struct ConvPair {
  std::string link;                      // the tensor between them (A's output or the Relu's)
  std::string first_weight, first_bias;  // A's weight and bias ("" when A has none)
  std::string second_weight;             // B's weight
  int64_t second_group = 1;
};

struct PairSearch {
  std::vector<ConvPair> pairs;
  int through_other_ops = 0;  // Conv -> (Clip, Sigmoid, ...) -> Conv: not scale-equivariant, skipped
};

int64_t group_of(const onnx::NodeProto& n) {
  for (const auto& a : n.attribute())
    if (a.name() == "group") return a.i();
  return 1;
}

bool is_plain(const onnx::NodeProto& n, const char* op) { return n.op_type() == op && n.domain().empty(); }

// The only node reading `tensor`, when exactly one node reads it and it is not a graph output nor read
// from inside a subgraph.
std::optional<int> sole_consumer(const Graph& g, const std::string& tensor) {
  if (g.is_graph_output(tensor) || !g.subgraph_consumers(tensor).empty()) return std::nullopt;
  const auto& c = g.consumers(tensor);
  if (c.size() != 1) return std::nullopt;
  return c[0];
}

// A float initializer that only `reader` reads (so scaling it changes nothing else).
bool private_float_initializer(const Graph& g, const std::string& name, int rank_min) {
  const auto* t = g.initializer(name);
  if (!t || t->data_type() != onnx::TensorProto::FLOAT || t->dims_size() < rank_min) return false;
  return g.consumers(name).size() == 1 && g.subgraph_consumers(name).empty() && !g.is_graph_output(name);
}

std::optional<ConvPair> pair_from(const Graph& g, int a_index, int b_index, const std::string& link) {
  const auto& a = g.node(a_index);
  const auto& b = g.node(b_index);
  if (!is_plain(b, "Conv") || b.input_size() < 2 || b.input(0) != link || b.input(1) == link) return std::nullopt;
  if (!private_float_initializer(g, a.input(1), 3) || !private_float_initializer(g, b.input(1), 3)) return std::nullopt;
  ConvPair p{link, a.input(1), "", b.input(1), group_of(b)};
  const int64_t channels = g.initializer(a.input(1))->dims(0);
  const auto* w2 = g.initializer(b.input(1));
  if (w2->dims(1) * p.second_group != channels || w2->dims(0) % p.second_group != 0) return std::nullopt;
  if (a.input_size() > 2 && !a.input(2).empty()) {
    if (!private_float_initializer(g, a.input(2), 1)) return std::nullopt;
    const auto* bias = g.initializer(a.input(2));
    if (bias->dims_size() != 1 || bias->dims(0) != channels) return std::nullopt;
    p.first_bias = a.input(2);
  }
  return p;
}

PairSearch find_pairs(const Graph& g) {
  PairSearch s;
  for (int i = 0; i < g.node_count(); ++i) {
    const auto& a = g.node(i);
    if (!is_plain(a, "Conv") || a.input_size() < 2 || a.output_size() != 1) continue;
    auto next = sole_consumer(g, a.output(0));
    if (!next) continue;
    std::string link = a.output(0);
    const auto& mid = g.node(*next);
    if (is_plain(mid, "Relu")) {
      link = mid.output(0);
      next = sole_consumer(g, link);
      if (!next) continue;
    } else if (!is_plain(mid, "Conv")) {
      if (auto after = sole_consumer(g, mid.output_size() ? mid.output(0) : std::string()); after && is_plain(g.node(*after), "Conv"))
        ++s.through_other_ops;
      continue;
    }
    if (auto p = pair_from(g, i, *next, link)) s.pairs.push_back(std::move(*p));
  }
  return s;
}

// Max |w| per output channel (axis 0) of a weight [C, ...].
std::vector<double> output_channel_ranges(const Tensor& w) {
  const int64_t channels = w.shape[0];
  const int64_t inner = w.elements() / channels;
  const auto v = w.as<float>();
  std::vector<double> r(static_cast<size_t>(channels), 0.0);
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t k = 0; k < inner; ++k) r[c] = std::max(r[c], std::fabs(static_cast<double>(v[c * inner + k])));
  return r;
}

// Layout of B's weight [C_out, C_in / group, kernel...] as seen from one of its input channels.
struct InputChannelView {
  int64_t per_group_in, per_group_out, kernel;
  // Calls f(flat index) for every weight that reads input channel i.
  template <typename F> void each(int64_t i, F f) const {
    const int64_t group = i / per_group_in, j = i % per_group_in;
    for (int64_t o = group * per_group_out; o < (group + 1) * per_group_out; ++o)
      for (int64_t k = 0; k < kernel; ++k) f((o * per_group_in + j) * kernel + k);
  }
};

InputChannelView input_view(const Tensor& w, int64_t group) {
  int64_t kernel = 1;
  for (size_t d = 2; d < w.shape.size(); ++d) kernel *= w.shape[d];
  return {w.shape[1], w.shape[0] / group, kernel};
}

}  // namespace

std::vector<std::string> equalizable_links(const Model& model) {
  std::vector<std::string> links;
  for (const auto& p : find_pairs(Graph(model.proto().graph())).pairs) links.push_back(p.link);
  return links;
}

bool EqualizeCrossLayer::match(const Model& model) const { return !find_pairs(Graph(model.proto().graph())).pairs.empty(); }

PassReport EqualizeCrossLayer::apply(Model& model) const {
  PassReport report{name(), 0, {}};
  const PairSearch search = find_pairs(Graph(model.proto().graph()));
  std::map<std::string, Tensor> weights;
  auto load = [&](const std::string& n) {
    if (!n.empty() && !weights.count(n)) {
      for (const auto& init : model.proto().graph().initializer())
        if (init.name() == n) weights[n] = tensor_from_proto(init);
    }
  };
  for (const auto& p : search.pairs) {
    load(p.first_weight);
    load(p.first_bias);
    load(p.second_weight);
  }
  int sweeps = 0, activation_aware = 0;
  double last_change = 0;
  for (; sweeps < options_.max_sweeps; ++sweeps) {
    last_change = 0;
    for (const auto& p : search.pairs) {
      const auto measured = options_.link_ranges.find(p.link);
      const bool by_activation = measured != options_.link_ranges.end();
      if (by_activation && sweeps > 0) continue;  // independent pairs: one sweep is exact
      activation_aware += by_activation;
      Tensor& w1 = weights.at(p.first_weight);
      Tensor& w2 = weights.at(p.second_weight);
      std::vector<double> r1 = output_channel_ranges(w1);
      if (by_activation && measured->second.size() == r1.size()) r1 = measured->second;
      const InputChannelView view = input_view(w2, p.second_group);
      auto v1 = w1.as<float>();
      auto v2 = w2.as<float>();
      const int64_t inner1 = w1.elements() / w1.shape[0];
      for (int64_t i = 0; i < w1.shape[0]; ++i) {
        double r2 = 0;
        view.each(i, [&](int64_t idx) { r2 = std::max(r2, std::fabs(static_cast<double>(v2[idx]))); });
        if (r1[i] <= 0 || r2 <= 0) continue;  // a dead channel: nothing to balance
        const double s = std::clamp(std::sqrt(r1[i] / r2), 1.0 / options_.max_scale, options_.max_scale);
        last_change = std::max(last_change, std::fabs(s - 1.0));
        for (int64_t k = 0; k < inner1; ++k) v1[i * inner1 + k] = static_cast<float>(v1[i * inner1 + k] / s);
        if (!p.first_bias.empty()) {
          auto b = weights.at(p.first_bias).as<float>();
          b[i] = static_cast<float>(b[i] / s);
        }
        view.each(i, [&](int64_t idx) { v2[idx] = static_cast<float>(v2[idx] * s); });
      }
    }
    if (last_change < options_.converged_when) {
      ++sweeps;
      break;
    }
  }
  for (auto& init : *model.proto().mutable_graph()->mutable_initializer())
    if (auto it = weights.find(init.name()); it != weights.end()) tensor_to_proto(it->second, it->first, init);
  report.changes = static_cast<int>(search.pairs.size());
  report.notes.push_back(fmt::format("{} Conv pairs equalized in {} sweep(s) (last largest scale change {:.2g}), {} by their measured activation ranges",
                                     search.pairs.size(), sweeps, last_change, activation_aware));
  if (search.through_other_ops > 0)
    report.notes.push_back(fmt::format("{} Conv pairs joined by a non-Relu activation (Clip, Sigmoid, ...) left alone: scaling through it would change the model",
                                       search.through_other_ops));
  return report;
}

}  // namespace onnxquant
