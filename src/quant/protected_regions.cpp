#include "quant/protected_regions.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <fmt/format.h>
#include <set>
#include <vector>

#include "ir/graph.h"

namespace onnxquant {

namespace {

bool is_constant(const Graph& g, const std::string& t) { return t.empty() || g.initializer(t) || g.constant_value(t).has_value(); }

std::string label(const onnx::NodeProto& n) { return n.name().empty() ? n.output(0) : n.name(); }

bool is_compute(const onnx::NodeProto& n) {
  return n.domain().empty() && (n.op_type() == "Conv" || n.op_type() == "ConvTranspose" || n.op_type() == "Gemm" || n.op_type() == "MatMul");
}

// The single consumer of a node's first output, or -1.
int only_consumer(const Graph& g, int i) {
  const auto& c = g.consumers(g.node(i).output(0));
  return c.size() == 1 ? c[0] : -1;
}

// Decomposed LayerNorm, anchored at Sub(x, ReduceMean(x)). Grows forward over the normalization ops while
// every non-constant input of a candidate is already in the region (so the residual Add, which also reads
// a tensor from outside, ends it), then takes the affine Mul/Add by constants.
void layer_norms(const Graph& g, std::map<int, std::string>& out) {
  static const std::set<std::string> kNormOps{"ReduceMean", "Sub", "Pow", "Mul", "Add", "Sqrt", "Div", "Reciprocal"};
  for (int i = 0; i < g.node_count(); ++i) {
    const auto& sub = g.node(i);
    if (sub.op_type() != "Sub" || sub.input_size() != 2) continue;
    const int mean = g.producer(sub.input(1));
    if (mean < 0 || g.node(mean).op_type() != "ReduceMean" || g.node(mean).input(0) != sub.input(0)) continue;
    std::set<int> region{mean, i};
    std::set<std::string> tensors{g.node(mean).output(0), sub.output(0)};
    int normalize = -1;  // the Div/Mul that reads the centered x and the deviation
    for (bool grew = true; grew && normalize < 0;) {
      grew = false;
      for (const auto& t : std::vector<std::string>(tensors.begin(), tensors.end()))
        for (int c : g.consumers(t)) {
          const auto& n = g.node(c);
          if (region.count(c) || !kNormOps.count(n.op_type())) continue;
          const bool inside = std::all_of(n.input().begin(), n.input().end(),
                                          [&](const std::string& s) { return tensors.count(s) || is_constant(g, s); });
          if (!inside) continue;
          region.insert(c);
          tensors.insert(n.output(0));
          grew = true;
          const bool reads_centered = std::find(n.input().begin(), n.input().end(), sub.output(0)) != n.input().end();
          if ((n.op_type() == "Div" || n.op_type() == "Mul") && reads_centered && region.size() > 4) normalize = c;
        }
    }
    if (normalize < 0) continue;
    // The affine part: Mul by gamma, then Add beta, each the only consumer of the previous.
    int last = normalize;
    for (const char* op : {"Mul", "Add"}) {
      const int c = only_consumer(g, last);
      if (c < 0 || g.node(c).op_type() != op) break;
      const auto& n = g.node(c);
      if (!std::any_of(n.input().begin(), n.input().end(), [&](const std::string& s) { return is_constant(g, s) && !s.empty(); })) break;
      region.insert(c);
      last = c;
    }
    const std::string why = fmt::format("protected: decomposed LayerNorm over '{}' (its variance needs more range than one int8 scale)", sub.input(0));
    for (int r : region) out.emplace(r, why);
  }
}

// Attention scores: Softmax whose input comes (through an optional mask Add and an optional scale by a
// constant) from a MatMul of two activations, and whose output feeds a MatMul.
void attention(const Graph& g, std::map<int, std::string>& out) {
  for (int s = 0; s < g.node_count(); ++s) {
    const auto& softmax = g.node(s);
    if (softmax.op_type() != "Softmax") continue;
    std::vector<int> chain{s};
    int p = g.producer(softmax.input(0));
    if (p >= 0 && g.node(p).op_type() == "Add") {  // mask
      chain.push_back(p);
      const auto& add = g.node(p);
      const int a = g.producer(add.input(0)), b = g.producer(add.input(1));
      p = (a >= 0 && g.node(a).op_type() != "Add" && (g.node(a).op_type() == "MatMul" || g.node(a).op_type() == "Div" || g.node(a).op_type() == "Mul")) ? a : b;
    }
    if (p >= 0 && (g.node(p).op_type() == "Div" || g.node(p).op_type() == "Mul")) {  // 1/sqrt(d) scale
      const auto& sc = g.node(p);
      const bool by_constant = is_constant(g, sc.input(1)) || is_constant(g, sc.input(0));
      if (by_constant) {
        chain.push_back(p);
        p = g.producer(is_constant(g, sc.input(1)) ? sc.input(0) : sc.input(1));
      }
    }
    if (p < 0 || g.node(p).op_type() != "MatMul") continue;
    const auto& qk = g.node(p);
    if (is_constant(g, qk.input(0)) || is_constant(g, qk.input(1))) continue;
    chain.push_back(p);
    for (int c : g.consumers(softmax.output(0)))
      if (g.node(c).op_type() == "MatMul") chain.push_back(c);
    const std::string why = fmt::format("protected: attention scores around Softmax '{}' (outliers; int8 Softmax inputs lose the ranking)", label(softmax));
    for (int r : chain) out.emplace(r, why);
  }
}

// --keep-fp32-head: walk back from every graph output; stop at (and include) the first compute op.
void heads(const Graph& g, std::map<int, std::string>& out) {
  for (const auto& o : g.output_names()) {
    std::vector<int> stack;
    std::set<int> seen;
    if (int p = g.producer(o); p >= 0) stack.push_back(p);
    while (!stack.empty()) {
      const int i = stack.back();
      stack.pop_back();
      if (!seen.insert(i).second) continue;
      const auto& n = g.node(i);
      out.emplace(i, fmt::format("protected: --keep-fp32-head (on the path to graph output '{}'{})", o,
                                 is_compute(n) ? ", last compute op" : ", behind the last compute op"));
      if (is_compute(n)) continue;
      for (const auto& in : n.input())
        if (int p = g.producer(in); p >= 0) stack.push_back(p);
    }
  }
}

}  // namespace

std::map<int, std::string> find_protected_regions(const Graph& graph, const ProtectionOptions& options) {
  std::map<int, std::string> out;
  if (options.layer_norm) layer_norms(graph, out);
  if (options.attention) attention(graph, out);
  if (options.keep_fp32_head) heads(graph, out);
  return out;
}

}  // namespace onnxquant
