#include "quant/node_scope.h"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>

#include "core/errors.h"
#include "ir/graph.h"

namespace onnxquant {

Excluder::Excluder(const std::vector<std::string>& patterns, const Graph& graph) {
  for (const auto& p : patterns) {
    bool literal = false;
    for (int i = 0; i < graph.node_count(); ++i) literal = literal || graph.node(i).name() == p || graph.node(i).op_type() == p;
    std::optional<std::regex> re;
    try {
      re.emplace(p, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      if (!literal) throw UsageError(fmt::format("--exclude '{}' matches no node name or op type and is not a valid regex ({})", p, e.what()));
    }
    patterns_.push_back({p, std::move(re)});
  }
}

std::optional<std::string> Excluder::match(const onnx::NodeProto& n) const {
  for (const auto& [p, re] : patterns_)
    if (n.name() == p || n.op_type() == p || (re && std::regex_match(n.name(), *re))) return p;
  return std::nullopt;
}

std::set<std::string> data_reachable(const Graph& g, std::vector<std::string>& non_image_inputs) {
  std::set<std::string> seeds, floats;
  for (const auto& name : g.input_names()) {
    const auto t = g.value_type(name);
    if (!t || t->dtype != DType::Float32) continue;
    floats.insert(name);
    if (!t->shape || t->shape->size() >= 3) seeds.insert(name);
  }
  if (seeds.empty()) seeds = floats;
  for (const auto& name : g.input_names())
    if (!seeds.count(name)) non_image_inputs.push_back(name);
  std::set<std::string> reach = seeds;
  for (int i : g.topological_order()) {
    const auto& n = g.node(i);
    // An If/Loop reads the tensors its bodies capture as much as its declared inputs.
    std::vector<std::string> reads(n.input().begin(), n.input().end());
    for (const auto& a : n.attribute()) {
      if (a.has_g())
        for (const auto& c : Graph::outer_scope_names(a.g())) reads.push_back(c);
      for (const auto& sg : a.graphs())
        for (const auto& c : Graph::outer_scope_names(sg)) reads.push_back(c);
    }
    if (std::any_of(reads.begin(), reads.end(), [&](const std::string& s) { return reach.count(s) > 0; }))
      for (const auto& o : n.output()) reach.insert(o);
  }
  return reach;
}

}  // namespace onnxquant
