#include "rewrite/cast_precision.h"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "core/errors.h"
#include "core/half.h"
#include "ir/graph.h"
#include "ir/graph_walk.h"
#include "ir/model.h"
#include "ir/tensor_proto.h"
#include "rewrite/cast_precision_plan.h"
#include "rewrite/rename.h"

namespace onnxquant {

const char* half_type_name(HalfType type) { return type == HalfType::Float16 ? "float16" : "bfloat16"; }

namespace {

// WeightsOnly leaves smaller float tensors (scalars, tiny biases) alone: no size worth a Cast node.
constexpr int64_t kMinWeightsOnlyElements = 64;
constexpr float kFloat16Max = 65504.f;

int32_t onnx_type(Precision p, HalfType h) {
  if (p == Precision::Float32) return static_cast<int32_t>(DType::Float32);
  return static_cast<int32_t>(h == HalfType::Float16 ? DType::Float16 : DType::BFloat16);
}

class UniqueNames {
 public:
  explicit UniqueNames(const onnx::GraphProto& g) {
    for_each_graph(g, [&](const onnx::GraphProto& sub) {
      for (const auto& v : sub.input()) taken_.insert(v.name());
      for (const auto& v : sub.output()) taken_.insert(v.name());
      for (const auto& v : sub.value_info()) taken_.insert(v.name());
      for (const auto& t : sub.initializer()) taken_.insert(t.name());
      for (const auto& n : sub.node()) {
        taken_.insert(n.name());
        for (const auto& s : n.input()) taken_.insert(s);
        for (const auto& s : n.output()) taken_.insert(s);
      }
    });
  }
  std::string make(const std::string& base) {
    if (taken_.insert(base).second) return base;
    for (int i = 1;; ++i)
      if (auto s = base + "_" + std::to_string(i); taken_.insert(s).second) return s;
  }

 private:
  std::unordered_set<std::string> taken_;
};

onnx::NodeProto make_cast(const std::string& in, const std::string& out, int32_t to, const std::string& name) {
  onnx::NodeProto n;
  n.set_op_type("Cast");
  n.set_name(name);
  n.add_input(in);
  n.add_output(out);
  auto* a = n.add_attribute();
  a->set_name("to");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(to);
  return n;
}

// A Constant node's value as one `value` tensor attribute (value_float(s) become tensors too).
void set_constant_value(onnx::NodeProto& n, const Tensor& t) {
  n.clear_attribute();
  auto* a = n.add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  tensor_to_proto(t, "", *a->mutable_t());
}

void rename_captures(onnx::NodeProto& node, const std::unordered_map<std::string, std::string>& renames) {
  auto fix = [&](onnx::GraphProto& sub) {
    auto visible = renames;  // names the subgraph defines itself shadow the outer tensor
    for (const auto& v : sub.input()) visible.erase(v.name());
    for (const auto& t : sub.initializer()) visible.erase(t.name());
    for (const auto& n : sub.node())
      for (const auto& o : n.output()) visible.erase(o);
    rename_uses(sub, visible);
    for (auto& o : *sub.mutable_output())
      if (auto it = visible.find(o.name()); it != visible.end()) o.set_name(it->second);
  };
  for (auto& a : *node.mutable_attribute()) {
    if (a.has_g()) fix(*a.mutable_g());
    for (auto& sub : *a.mutable_graphs()) fix(sub);
  }
}

class Rewriter {
 public:
  Rewriter(Model& model, const CastOptions& options)
      : g_(*model.proto().mutable_graph()), opset_(model.opset("")), options_(effective(options)), plan_(plan_cast(model, planning(options_))), graph_(g_),
        names_(g_), after_(static_cast<size_t>(g_.node_size())) {}

  // IoTypes::Half means nothing when no node computes in half: WeightsOnly keeps float32 inputs/outputs.
  static CastOptions effective(CastOptions o) {
    if (o.compute == HalfCompute::WeightsOnly) o.io = IoTypes::KeepFloat32;
    return o;
  }
  // WeightsOnly asks the plan which constants are weights read by compute slots that tolerate a narrower
  // float. Compute stays float32, so whether the op has a bfloat16 version does not matter; the float16
  // schemas (float16 is allowed wherever an op computes in float) answer that for both storage types.
  static CastOptions planning(CastOptions o) {
    if (o.compute == HalfCompute::WeightsOnly) o.type = HalfType::Float16;
    return o;
  }

  CastStats run() {
    collect_uses();
    if (options_.compute == HalfCompute::WeightsOnly) store_weights_in_half();
    else convert();
    summarize();  // before assemble_nodes(), which moves the nodes graph_ indexes
    assemble_nodes();
    return stats_;
  }

 private:
  using Uses = std::map<Precision, int>;  // precision wanted -> number of readers

  Precision produced(const std::string& t) const {
    auto it = plan_.produced.find(t);
    return it == plan_.produced.end() ? Precision::Float32 : it->second;
  }
  std::string suffix(Precision p) const {
    if (p == Precision::Float32) return "_fp32";
    return options_.type == HalfType::Float16 ? "_fp16" : "_bf16";
  }

  void collect_uses() {
    for (int i = 0; i < graph_.node_count(); ++i) {
      const auto& n = graph_.node(i);
      const auto& np = plan_.nodes[static_cast<size_t>(i)];
      for (int k = 0; k < n.input_size(); ++k)
        if (np.inputs[static_cast<size_t>(k)] && !n.input(k).empty()) ++uses_[n.input(k)][*np.inputs[static_cast<size_t>(k)]];
      for (const auto& a : n.attribute()) {
        auto captured = [&](const onnx::GraphProto& sub) {
          for (const auto& t : Graph::outer_scope_names(sub))
            if (plan_.is_float32(t)) { ++uses_[t][Precision::Float32]; capturers_[t].push_back(i); }
        };
        if (a.has_g()) captured(a.g());
        for (const auto& sub : a.graphs()) captured(sub);
      }
    }
    for (const auto& o : g_.output()) {
      if (!plan_.is_float32(o.name())) continue;
      const bool half = options_.io == IoTypes::Half && !plan_.constants.count(o.name()) &&
                        options_.compute == HalfCompute::Full;
      declared_[o.name()] = half ? Precision::Half : Precision::Float32;
      ++uses_[o.name()][declared_[o.name()]];
    }
  }

  // Emits the node that makes `t` available as `out`, right after whatever makes `t` available.
  void emit_after_source(const std::string& t, onnx::NodeProto node) {
    const int p = graph_.producer(t);
    (p < 0 ? start_ : after_[static_cast<size_t>(p)]).push_back(std::move(node));
  }

  Tensor to_half(const Tensor& f) {
    Tensor out(options_.type == HalfType::Float16 ? DType::Float16 : DType::BFloat16, f.shape);
    const auto src = f.as<float>();
    auto dst = out.as<uint16_t>();
    for (size_t i = 0; i < src.size(); ++i) {
      float v = src[i];
      if (options_.type == HalfType::Float16) {
        if (std::isfinite(v) && std::fabs(v) > kFloat16Max) { v = std::copysign(kFloat16Max, v); ++stats_.clamped_values; }
        dst[i] = float_to_half(v);
      } else {
        dst[i] = float_to_bfloat16(v);
      }
    }
    stats_.half_weight_elements += static_cast<int64_t>(src.size());
    return out;
  }

  onnx::TensorProto* initializer(const std::string& name) {
    for (auto& t : *g_.mutable_initializer())
      if (t.name() == name) return &t;
    return nullptr;
  }

  // Stores constant `t` in half under `half_name` (in place when equal to `t`, else as a copy).
  void make_half_constant(const std::string& t, const std::string& half_name) {
    const Tensor half = to_half(*graph_.constant_value(t));
    ++stats_.constants_converted;
    if (auto* init = initializer(t)) {
      if (half_name == t) tensor_to_proto(half, t, *init);
      else tensor_to_proto(half, half_name, *g_.add_initializer());
      return;
    }
    const int p = graph_.producer(t);
    if (half_name == t) {
      set_constant_value(*g_.mutable_node(p), half);
      return;
    }
    onnx::NodeProto copy;
    copy.set_op_type("Constant");
    copy.set_name(names_.make(g_.node(p).name() + suffix(Precision::Half)));
    copy.add_output(half_name);
    set_constant_value(copy, half);
    after_[static_cast<size_t>(p)].push_back(std::move(copy));
  }

  void convert() {
    for (const auto& [t, uses] : uses_) {
      if (!plan_.is_float32(t)) continue;
      auto& names = names_of_[t];
      if (plan_.constants.count(t)) {
        if (!uses.count(Precision::Half)) continue;
        const bool float_too = uses.count(Precision::Float32) > 0;
        names[Precision::Half] = float_too ? names_.make(t + suffix(Precision::Half)) : t;
        make_half_constant(t, names[Precision::Half]);
        stats_.constants_duplicated += float_too;
        continue;
      }
      const Precision native = produced(t);
      auto declared = declared_.find(t);
      if (declared != declared_.end() && declared->second != native) {
        // A graph output keeps its name in its declared precision; the producer writes a renamed tensor.
        names[native] = names_.make(t + suffix(native));
        names[declared->second] = t;
      } else {
        names[native] = t;
      }
      for (const auto& [p, count] : uses) {
        if (p == native) continue;
        if (!names.count(p)) names[p] = names_.make(t + suffix(p));
        emit_after_source(t, make_cast(names[native], names[p], onnx_type(p, options_.type), names_.make(names[p] + "/Cast")));
        ++stats_.casts_inserted;
      }
    }
    rewrite_nodes();
    rewrite_declarations();
  }

  const std::string& name_of(const std::string& t, Precision p) {
    auto it = names_of_.find(t);
    if (it == names_of_.end()) return t;
    auto jt = it->second.find(p);
    return jt == it->second.end() ? t : jt->second;
  }

  void rewrite_nodes() {
    for (int i = 0; i < g_.node_size(); ++i) {
      auto& n = *g_.mutable_node(i);
      const auto& np = plan_.nodes[static_cast<size_t>(i)];
      for (int k = 0; k < n.input_size(); ++k)
        if (np.inputs[static_cast<size_t>(k)] && !n.input(k).empty()) n.set_input(k, name_of(n.input(k), *np.inputs[static_cast<size_t>(k)]));
      for (int k = 0; k < n.output_size(); ++k)
        if (np.outputs[static_cast<size_t>(k)] && !plan_.constants.count(n.output(k))) n.set_output(k, name_of(n.output(k), produced(n.output(k))));
      if (np.retype_cast)
        for (auto& a : *n.mutable_attribute())
          if (a.name() == "to") a.set_i(onnx_type(Precision::Half, options_.type));
      stats_.casts_retyped += np.retype_cast;
    }
    // Subgraphs read captured tensors in float32: point them at the float32 version when it was renamed.
    std::map<int, std::unordered_map<std::string, std::string>> renames;
    for (const auto& [t, nodes] : capturers_)
      if (const std::string& f = name_of(t, Precision::Float32); f != t)
        for (int i : nodes) renames[i][t] = f;
    for (const auto& [i, map] : renames) rename_captures(*g_.mutable_node(i), map);
  }

  // Every declared type follows the tensor that now carries the name.
  void rewrite_declarations() {
    std::unordered_map<std::string, Precision> final_type;
    for (const auto& [t, p] : plan_.produced) final_type[name_of(t, p)] = p;
    for (const auto& [t, names] : names_of_)
      for (const auto& [p, name] : names) final_type[name] = p;
    auto set = [&](onnx::ValueInfoProto& v) {
      auto it = final_type.find(v.name());
      if (it != final_type.end() && v.type().has_tensor_type())
        v.mutable_type()->mutable_tensor_type()->set_elem_type(onnx_type(it->second, options_.type));
    };
    for (auto& v : *g_.mutable_input()) set(v);
    for (auto& v : *g_.mutable_output()) set(v);
    for (auto& v : *g_.mutable_value_info()) set(v);
  }

  // WeightsOnly: a constant whose every reader would compute in half is stored in half under a new
  // name, and Cast(to=float) recreates the original name, so no reader changes.
  void store_weights_in_half() {
    if (!cast_supports(options_.type, opset_))
      throw UnsupportedOpError(fmt::format("{} weights need a Cast from {}, which ONNX has only from opset 13; this model imports opset {}",
                                           half_type_name(options_.type), half_type_name(options_.type), opset_),
                               "upgrade the model's opset to 13 or later first, or use float16");
    std::unordered_set<std::string> drop_inputs;
    for (const auto& t : plan_.constants) {
      auto it = uses_.find(t);
      if (it == uses_.end() || it->second.count(Precision::Float32) || !it->second.count(Precision::Half)) continue;
      const auto value = graph_.constant_value(t);
      if (!value || value->elements() < kMinWeightsOnlyElements) continue;
      const std::string half_name = names_.make(t + suffix(Precision::Half));
      if (auto* init = initializer(t)) {
        tensor_to_proto(to_half(*value), half_name, *init);
        drop_inputs.insert(t);  // IR < 4 lists initializers as inputs; the name is now a Cast output
      } else {
        const int p = graph_.producer(t);
        set_constant_value(*g_.mutable_node(p), to_half(*value));
        g_.mutable_node(p)->set_output(0, half_name);
      }
      ++stats_.constants_converted;
      emit_after_source(t, make_cast(half_name, t, onnx_type(Precision::Float32, options_.type), names_.make(t + "/Cast")));
      ++stats_.casts_inserted;
    }
    auto* inputs = g_.mutable_input();
    for (int i = inputs->size() - 1; i >= 0; --i)
      if (drop_inputs.count(inputs->Get(i).name())) inputs->DeleteSubrange(i, 1);
  }

  // Node order stays topological: new nodes sit right after what they read.
  void assemble_nodes() {
    google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
    for (auto& n : start_) *nodes.Add() = std::move(n);
    for (int i = 0; i < g_.node_size(); ++i) {
      *nodes.Add() = std::move(*g_.mutable_node(i));
      for (auto& n : after_[static_cast<size_t>(i)]) *nodes.Add() = std::move(n);
    }
    g_.mutable_node()->Swap(&nodes);
  }

  void summarize() {
    std::map<std::pair<std::string, std::string>, int> kept;
    for (int i = 0; i < static_cast<int>(plan_.nodes.size()); ++i) {
      const auto& np = plan_.nodes[static_cast<size_t>(i)];
      if (options_.compute == HalfCompute::WeightsOnly) continue;  // every node stays float32 by request
      if (np.any_half()) ++stats_.half_nodes;
      if (!np.float_reason.empty()) ++kept[{graph_.node(i).op_type(), np.float_reason}];
    }
    for (const auto& [key, count] : kept) {
      stats_.float_nodes += count;
      stats_.kept_float.push_back({key.first, key.second, count});
    }
  }

  onnx::GraphProto& g_;
  int64_t opset_;
  CastOptions options_;
  CastPlan plan_;
  Graph graph_;  // index over the original proto: valid until assemble_nodes() (only appends before it)
  UniqueNames names_;
  std::map<std::string, Uses> uses_;  // ordered: inserted names and node order are reproducible
  std::unordered_map<std::string, std::vector<int>> capturers_;
  std::unordered_map<std::string, Precision> declared_;
  std::unordered_map<std::string, std::map<Precision, std::string>> names_of_;
  std::vector<onnx::NodeProto> start_;
  std::vector<std::vector<onnx::NodeProto>> after_;
  CastStats stats_;
};

}  // namespace

CastStats cast_precision(Model& model, const CastOptions& options) { return Rewriter(model, options).run(); }

bool CastPrecisionPass::match(const Model& model) const {
  for (const auto& np : plan_cast(model, options_).nodes)
    if (np.any_half()) return true;
  return false;
}

PassReport CastPrecisionPass::apply(Model& model) const {
  const CastStats s = cast_precision(model, options_);
  PassReport r{name(), s.half_nodes + s.casts_inserted + s.constants_converted, {}};
  if (s.clamped_values) r.notes.push_back(std::to_string(s.clamped_values) + " weight values beyond ±65504 clamped");
  for (const auto& k : s.kept_float)
    r.notes.push_back(std::to_string(k.count) + " " + k.op_type + " kept float32: " + k.reason);
  return r;
}

}  // namespace onnxquant
