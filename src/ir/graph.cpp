#include "ir/graph.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <queue>

#include "core/errors.h"
#include "ir/tensor_proto.h"

namespace onnxquant {

namespace {
const std::vector<int> kNoNodes;

void add_unique(std::vector<int>& v, int i) {
  if (v.empty() || v.back() != i) v.push_back(i);
}
}  // namespace

ValueType value_type_from_proto(const onnx::ValueInfoProto& info) {
  ValueType vt;
  if (!info.has_type() || !info.type().has_tensor_type()) return vt;
  const auto& tt = info.type().tensor_type();
  vt.dtype = dtype_from_onnx(tt.elem_type());
  if (tt.has_shape()) {
    std::vector<Dim> dims;
    for (const auto& d : tt.shape().dim()) {
      Dim dim;
      if (d.has_dim_value()) dim.value = d.dim_value();
      else if (d.has_dim_param()) dim.param = d.dim_param();
      dims.push_back(dim);
    }
    vt.shape = std::move(dims);
  }
  return vt;
}

std::string format_shape(const ValueType& type) {
  if (!type.shape) return "?";
  std::string s = "[";
  for (size_t i = 0; i < type.shape->size(); ++i) s += (i ? "," : "") + (*type.shape)[i].str();
  return s + "]";
}

Graph::Graph(const onnx::GraphProto& graph, std::set<std::string> outer_scope)
    : graph_(&graph), outer_scope_(std::move(outer_scope)) {
  for (const auto& t : graph.initializer()) initializers_[t.name()] = &t;
  for (const auto& v : graph.input()) { inputs_.insert(v.name()); value_infos_[v.name()] = &v; }
  for (const auto& v : graph.output()) { outputs_.insert(v.name()); value_infos_.try_emplace(v.name(), &v); }
  for (const auto& v : graph.value_info()) value_infos_.try_emplace(v.name(), &v);
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& n = graph.node(i);
    for (const auto& out : n.output())
      if (!out.empty()) producer_.try_emplace(out, i);
    for (const auto& in : n.input())
      if (!in.empty()) add_unique(consumers_[in], i);
    for (const auto& attr : n.attribute()) {
      auto capture = [&](const onnx::GraphProto& sub) {
        for (const auto& name : outer_scope_names(sub)) add_unique(subgraph_consumers_[name], i);
      };
      if (attr.has_g()) capture(attr.g());
      for (const auto& g : attr.graphs()) capture(g);
    }
  }
}

int Graph::node_count() const { return graph_->node_size(); }
const onnx::NodeProto& Graph::node(int index) const { return graph_->node(index); }

int Graph::producer(const std::string& tensor) const {
  auto it = producer_.find(tensor);
  return it == producer_.end() ? -1 : it->second;
}

const std::vector<int>& Graph::consumers(const std::string& tensor) const {
  auto it = consumers_.find(tensor);
  return it == consumers_.end() ? kNoNodes : it->second;
}

const std::vector<int>& Graph::subgraph_consumers(const std::string& tensor) const {
  auto it = subgraph_consumers_.find(tensor);
  return it == subgraph_consumers_.end() ? kNoNodes : it->second;
}

const onnx::TensorProto* Graph::initializer(const std::string& name) const {
  auto it = initializers_.find(name);
  return it == initializers_.end() ? nullptr : it->second;
}

std::optional<Tensor> Graph::constant_value(const std::string& name) const {
  if (const auto* init = initializer(name)) return tensor_from_proto(*init);
  const int p = producer(name);
  if (p < 0 || node(p).op_type() != "Constant" || !node(p).domain().empty()) return std::nullopt;
  for (const auto& attr : node(p).attribute()) {
    if (attr.name() == "value" && attr.has_t()) return tensor_from_proto(attr.t());
    if (attr.name() == "value_float") {
      Tensor t(DType::Float32, {});
      t.as<float>()[0] = attr.f();
      return t;
    }
    if (attr.name() == "value_int") {
      Tensor t(DType::Int64, {});
      t.as<int64_t>()[0] = attr.i();
      return t;
    }
    if (attr.name() == "value_floats") {
      Tensor t(DType::Float32, {attr.floats_size()});
      std::copy(attr.floats().begin(), attr.floats().end(), t.as<float>().begin());
      return t;
    }
    if (attr.name() == "value_ints") {
      Tensor t(DType::Int64, {attr.ints_size()});
      std::copy(attr.ints().begin(), attr.ints().end(), t.as<int64_t>().begin());
      return t;
    }
  }
  return std::nullopt;  // sparse or string constants
}

bool Graph::is_graph_input(const std::string& name) const { return inputs_.count(name) && !initializers_.count(name); }
bool Graph::is_graph_output(const std::string& name) const { return outputs_.count(name) > 0; }

std::vector<std::string> Graph::input_names() const {
  std::vector<std::string> names;
  for (const auto& v : graph_->input())
    if (!initializers_.count(v.name())) names.push_back(v.name());
  return names;
}

std::vector<std::string> Graph::output_names() const {
  std::vector<std::string> names;
  for (const auto& v : graph_->output()) names.push_back(v.name());
  return names;
}

std::optional<ValueType> Graph::value_type(const std::string& name) const {
  if (auto it = value_infos_.find(name); it != value_infos_.end()) {
    ValueType vt = value_type_from_proto(*it->second);
    if (vt.dtype != DType::Undefined) return vt;
  }
  if (const auto* init = initializer(name)) {
    ValueType vt;
    vt.dtype = dtype_from_onnx(init->data_type());
    std::vector<Dim> dims;
    for (int64_t d : init->dims()) dims.push_back(Dim{d, {}});
    vt.shape = std::move(dims);
    return vt;
  }
  return std::nullopt;
}

std::vector<int> Graph::topological_order() const {
  // Kahn's algorithm over node-to-node edges; ties keep file order so the result is stable.
  const int n = node_count();
  std::vector<int> pending(n, 0);
  std::vector<std::vector<int>> next(n);
  auto available = [&](const std::string& t) { return initializers_.count(t) || inputs_.count(t) || outer_scope_.count(t); };
  for (int i = 0; i < n; ++i) {
    std::set<std::string> needs;
    for (const auto& in : node(i).input())
      if (!in.empty()) needs.insert(in);
    for (const auto& attr : node(i).attribute()) {
      auto add = [&](const onnx::GraphProto& g) { for (const auto& s : outer_scope_names(g)) needs.insert(s); };
      if (attr.has_g()) add(attr.g());
      for (const auto& g : attr.graphs()) add(g);
    }
    for (const auto& t : needs) {
      const int p = producer(t);
      if (p >= 0) {
        if (p == i) throw LoadError("node '" + node(i).name() + "' (" + node(i).op_type() + ") reads its own output '" + t + "'");
        next[p].push_back(i);
        ++pending[i];
      } else if (!available(t)) {
        throw LoadError("node '" + node(i).name() + "' (" + node(i).op_type() + ") reads '" + t + "', which nothing produces");
      }
    }
  }
  std::priority_queue<int, std::vector<int>, std::greater<>> ready;
  for (int i = 0; i < n; ++i)
    if (pending[i] == 0) ready.push(i);
  std::vector<int> order;
  order.reserve(n);
  while (!ready.empty()) {
    const int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int j : next[i])
      if (--pending[j] == 0) ready.push(j);
  }
  if (static_cast<int>(order.size()) != n) {
    for (int i = 0; i < n; ++i)
      if (pending[i] > 0)
        throw LoadError("graph has a cycle through node '" + node(i).name() + "' (" + node(i).op_type() + ")");
  }
  return order;
}

std::vector<SubgraphRef> Graph::subgraphs() const {
  std::vector<SubgraphRef> refs;
  for (int i = 0; i < node_count(); ++i)
    for (const auto& attr : node(i).attribute()) {
      if (attr.has_g()) refs.push_back({i, attr.name(), &attr.g()});
      for (const auto& g : attr.graphs()) refs.push_back({i, attr.name(), &g});
    }
  return refs;
}

std::set<std::string> Graph::names_read(const onnx::NodeProto& n) {
  std::set<std::string> r;
  for (const auto& in : n.input())
    if (!in.empty()) r.insert(in);
  for (const auto& attr : n.attribute()) {
    if (attr.has_g()) r.merge(outer_scope_names(attr.g()));
    for (const auto& sub : attr.graphs()) r.merge(outer_scope_names(sub));
  }
  return r;
}

std::set<std::string> Graph::outer_scope_names(const onnx::GraphProto& sub) {
  std::set<std::string> defined, used;
  for (const auto& v : sub.input()) defined.insert(v.name());
  for (const auto& t : sub.initializer()) defined.insert(t.name());
  for (const auto& n : sub.node())
    for (const auto& o : n.output()) defined.insert(o);
  for (const auto& n : sub.node()) {
    for (const auto& in : n.input())
      if (!in.empty()) used.insert(in);
    for (const auto& attr : n.attribute()) {
      auto nested = [&](const onnx::GraphProto& g) { for (const auto& s : outer_scope_names(g)) used.insert(s); };
      if (attr.has_g()) nested(attr.g());
      for (const auto& g : attr.graphs()) nested(g);
    }
  }
  for (const auto& o : sub.output()) used.insert(o.name());
  std::set<std::string> outer;
  for (const auto& u : used)
    if (!defined.count(u)) outer.insert(u);
  return outer;
}

}  // namespace onnxquant
