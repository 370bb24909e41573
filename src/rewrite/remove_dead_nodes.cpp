#include "rewrite/remove_dead_nodes.h"

#include <onnx/onnx_pb.h>

#include <set>
#include <unordered_map>

#include "ir/graph.h"
#include "ir/model.h"

namespace onnxquant {

namespace {

struct Liveness {
  std::vector<bool> live_node;
  std::set<std::string> needed;  // tensor names read by live nodes or declared as outputs
};

Liveness compute_liveness(const onnx::GraphProto& g) {
  Liveness l;
  l.live_node.assign(static_cast<size_t>(g.node_size()), false);
  std::unordered_map<std::string, int> producer;
  for (int i = 0; i < g.node_size(); ++i)
    for (const auto& o : g.node(i).output())
      if (!o.empty()) producer[o] = i;
  std::vector<std::string> work;
  auto need = [&](const std::string& name) {
    if (!name.empty() && l.needed.insert(name).second) work.push_back(name);
  };
  for (const auto& o : g.output()) need(o.name());
  while (!work.empty()) {
    const std::string t = work.back();
    work.pop_back();
    auto it = producer.find(t);
    if (it == producer.end() || l.live_node[static_cast<size_t>(it->second)]) continue;
    const auto& n = g.node(it->second);
    l.live_node[static_cast<size_t>(it->second)] = true;
    for (const auto& in : n.input()) need(in);
    for (const auto& attr : n.attribute()) {
      if (attr.has_g()) for (const auto& s : Graph::outer_scope_names(attr.g())) need(s);
      for (const auto& sub : attr.graphs()) for (const auto& s : Graph::outer_scope_names(sub)) need(s);
    }
  }
  return l;
}

int count_dead(const onnx::GraphProto& g) {
  const Liveness l = compute_liveness(g);
  int dead = 0;
  for (bool live : l.live_node) dead += !live;
  for (const auto& t : g.initializer()) dead += !l.needed.count(t.name());
  for (const auto& n : g.node())
    for (const auto& attr : n.attribute()) {
      if (attr.has_g()) dead += count_dead(attr.g());
      for (const auto& sub : attr.graphs()) dead += count_dead(sub);
    }
  return dead;
}

int sweep(onnx::GraphProto& g) {
  const Liveness l = compute_liveness(g);
  int removed = 0;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  std::set<std::string> existing;
  for (int i = 0; i < g.node_size(); ++i) {
    if (!l.live_node[static_cast<size_t>(i)]) { ++removed; continue; }
    auto& n = *g.mutable_node(i);
    for (auto& attr : *n.mutable_attribute()) {
      if (attr.has_g()) removed += sweep(*attr.mutable_g());
      for (auto& sub : *attr.mutable_graphs()) removed += sweep(sub);
    }
    for (const auto& o : n.output()) existing.insert(o);
    *nodes.Add() = std::move(n);
  }
  g.mutable_node()->Swap(&nodes);

  std::set<std::string> dropped_initializers;
  google::protobuf::RepeatedPtrField<onnx::TensorProto> inits;
  for (auto& t : *g.mutable_initializer()) {
    if (!l.needed.count(t.name())) { dropped_initializers.insert(t.name()); ++removed; continue; }
    existing.insert(t.name());
    *inits.Add() = std::move(t);
  }
  g.mutable_initializer()->Swap(&inits);
  // An initializer also declared as an input (IR < 4 style) loses that declaration with it.
  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> inputs;
  for (auto& v : *g.mutable_input()) {
    if (dropped_initializers.count(v.name())) continue;
    existing.insert(v.name());
    *inputs.Add() = std::move(v);
  }
  g.mutable_input()->Swap(&inputs);
  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> infos;
  for (auto& v : *g.mutable_value_info())
    if (existing.count(v.name())) *infos.Add() = std::move(v);
  g.mutable_value_info()->Swap(&infos);
  return removed;
}

}  // namespace

bool RemoveDeadNodes::match(const Model& model) const { return count_dead(model.proto().graph()) > 0; }

PassReport RemoveDeadNodes::apply(Model& model) const {
  PassReport report{name(), 0, {}};
  report.changes = sweep(*model.proto().mutable_graph());
  if (report.changes) report.notes.push_back("removed " + std::to_string(report.changes) + " dead node(s) and unused initializer(s)");
  return report;
}

}  // namespace onnxquant
