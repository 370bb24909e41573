#include "quant/prune_islands.h"

#include <onnx/onnx_pb.h>

#include <numeric>
#include <set>
#include <vector>

#include "ir/graph.h"
#include "quant/fusion_rules.h"

namespace onnxquant {

namespace {

class IslandPruner {
 public:
  IslandPruner(const Graph& g, QuantPlan& plan) : g_(g), plan_(plan) {
    for (size_t k = 0; k < plan_.nodes.size(); ++k) {
      const auto& d = plan_.nodes[k];
      const int i = d.output.empty() ? -1 : g_.producer(d.output);
      if (i < 0) continue;
      decision_[i] = k;
      if (!d.quantized) continue;
      const FusionRule* rule = find_fusion_rule(d.op_type);
      if (!rule) continue;
      if (rule->kind == RuleKind::FoldIntoProducer) folded_[i] = g_.producer(g_.node(i).input(0));
      else kind_[i] = rule->kind;
    }
    for (const auto& t : plan_.tensors)
      if (t.role == TensorRole::Activation) activations_.push_back(t.tensor);
  }

  std::map<std::string, std::string> run() {
    while (prune_islands_without_compute() | prune_lone_ops()) {
    }
    return apply();
  }

 private:
  bool live(int i) const { return kind_.count(i) && !reverted_.count(i); }

  // The quantized op that produces tensor t (a folded Relu/Clip stands for its producer), or -1.
  int quantized_producer(const std::string& t) const {
    int p = g_.producer(t);
    if (auto f = folded_.find(p); f != folded_.end()) p = f->second;
    return p >= 0 && live(p) ? p : -1;
  }

  std::vector<int> touching(const std::string& t) const {
    std::vector<int> out;
    if (int p = quantized_producer(t); p >= 0) out.push_back(p);
    for (int c : g_.consumers(t))
      if (live(c)) out.push_back(c);
    return out;
  }

  static int find(std::vector<int>& parent, int x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }

  bool prune_islands_without_compute() {
    std::vector<int> parent(g_.node_count());
    std::iota(parent.begin(), parent.end(), 0);
    for (const auto& t : activations_) {
      const auto nodes = touching(t);
      for (size_t k = 1; k < nodes.size(); ++k) parent[find(parent, nodes[k])] = find(parent, nodes[0]);
    }
    std::set<int> with_compute;
    for (const auto& [i, kind] : kind_)
      if (live(i) && kind == RuleKind::Compute) with_compute.insert(find(parent, i));
    bool changed = false;
    for (const auto& [i, kind] : kind_)
      if (live(i) && !with_compute.count(find(parent, i))) {
        reverted_[i] = "fp32: int8 island without a Conv/MatMul/Gemm: its Q/DQ would cost more than its integer kernels save";
        changed = true;
      }
    return changed;
  }

  bool prune_lone_ops() {
    bool changed = false;
    for (const auto& [i, kind] : kind_) {
      if (!live(i) || kind == RuleKind::Compute) continue;
      const auto& n = g_.node(i);
      bool upstream = false, downstream = false;
      for (const auto& in : n.input()) upstream = upstream || (!in.empty() && quantized_producer(in) >= 0);
      std::vector<std::string> outs(n.output().begin(), n.output().end());
      for (const auto& [f, anchor] : folded_)
        if (anchor == i) outs.push_back(g_.node(f).output(0));
      for (const auto& o : outs)
        for (int c : g_.consumers(o)) downstream = downstream || (c != i && live(c));
      if (!upstream && !downstream) {
        reverted_[i] = "fp32: no quantized op on either side: a Q/DQ pair between float ops only costs time";
        changed = true;
      }
    }
    return changed;
  }

  std::map<std::string, std::string> apply() {
    std::map<std::string, std::string> dropped;
    if (reverted_.empty()) return dropped;
    for (const auto& [i, why] : reverted_) {
      auto& d = plan_.nodes[decision_.at(i)];
      d.quantized = false;
      d.rule.clear();
      d.reason = why;
    }
    for (const auto& [f, anchor] : folded_)
      if (reverted_.count(anchor)) {
        auto& d = plan_.nodes[decision_.at(f)];
        d.quantized = false;
        d.rule.clear();
        d.reason = "fp32: the op in front of it stays float (" + reverted_.at(anchor) + ")";
      }
    std::set<std::string> still_used;
    for (const auto& t : activations_)
      if (!touching(t).empty()) still_used.insert(t);
    std::vector<TensorDecision> kept;
    for (auto& t : plan_.tensors) {
      if (t.role == TensorRole::Activation && !still_used.count(t.tensor)) {
        dropped.emplace(t.tensor, "float: its quantized neighbours were turned back to float (no Q/DQ ORT could use)");
        continue;
      }
      if (t.role != TensorRole::Activation && t.role != TensorRole::Float && !t.consumer_output.empty()) {
        const int c = g_.producer(t.consumer_output);
        if (c >= 0 && reverted_.count(c)) continue;
      }
      kept.push_back(std::move(t));
    }
    plan_.tensors = std::move(kept);
    return dropped;
  }

  const Graph& g_;
  QuantPlan& plan_;
  std::map<int, size_t> decision_;   // graph node -> index in plan.nodes
  std::map<int, RuleKind> kind_;     // quantized node (not folded) -> rule kind
  std::map<int, int> folded_;        // folded Relu/Clip -> the quantized node it is folded into
  std::map<int, std::string> reverted_;
  std::vector<std::string> activations_;
};

}  // namespace

std::map<std::string, std::string> prune_int8_islands(const Graph& graph, QuantPlan& plan) { return IslandPruner(graph, plan).run(); }

}  // namespace onnxquant
