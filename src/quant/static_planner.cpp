#include "quant/static_planner.h"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <set>

#include "ir/graph.h"
#include "ir/node_attributes.h"
#include "ir/model.h"
#include "ir/tensor_proto.h"
#include "quant/fusion_rules.h"
#include "quant/node_scope.h"
#include "quant/protected_regions.h"
#include "quant/prune_islands.h"
#include "quant/weight_scales.h"

namespace onnxquant {

namespace {

// Float ops whose int8 form loses too much accuracy (DESIGN.md "Correctness rules") and that ORT's CPU EP
// has no QDQ fusion for anyway. Softmax is protected through its rule's `opt_in` (--quantize-softmax).
const std::set<std::string> kProtectedOps{"LayerNormalization", "SimplifiedLayerNormalization"};

// Machine epsilon of float: ORT's ClipQuantFusion compares the Q's range with the Clip's in float with
// this slack.
constexpr float kFloatEps = std::numeric_limits<float>::epsilon();

std::string node_label(const onnx::NodeProto& n) {
  return fmt::format("{} '{}'", n.op_type(), n.name().empty() ? n.output(0) : n.name());
}

struct ActParams {
  double scale;
  int32_t zero_point;
};

class Planner {
 public:
  Planner(const Model& model, const std::map<std::string, Range>& ranges, const StaticPlanOptions& opt)
      : g_(model.proto().graph()), ranges_(ranges), opt_(opt), excluder_(opt.exclude, g_) {
    reach_ = data_reachable(g_, non_image_inputs_);
    protected_ = find_protected_regions(
        g_, {.layer_norm = !opt.quantize_layer_norm, .attention = !opt.quantize_attention, .keep_fp32_head = opt.keep_fp32_head});
    // ORT turns DQ, DQ -> MatMul into MatMulIntegerToFloat even without a Q behind it: a protected MatMul
    // of two activations stays float only if its inputs are not quantized. One input computed inside the
    // protected region (the context MatMul reads the float Softmax) already prevents it.
    for (const auto& [i, why] : protected_) {
      const auto& n = node(i);
      if (n.op_type() != "MatMul" || n.input_size() != 2 || stored(n.input(1)) || g_.constant_value(n.input(1))) continue;
      const bool float_operand = std::any_of(n.input().begin(), n.input().end(), [&](const std::string& t) {
        const int p = g_.producer(t);
        return p >= 0 && protected_.count(p);
      });
      if (!float_operand)
        for (const auto& in : n.input()) float_inputs_.emplace(in, node_label(n));
    }
    plan_.activation_type = target_name(opt.activations);
    plan_.weight_granularity = opt.weights == Granularity::PerChannel ? "per_channel" : "per_tensor";
    choose_weight_grid();
    share_concat_grids();
  }

  QuantPlan run() {
    for (int i : g_.topological_order()) decide(i);
    for (auto& w : weights_) plan_.tensors.push_back(std::move(w));
    for (auto& [t, why] : prune_int8_islands(g_, plan_)) float_reasons_.emplace(t, why);
    add_float_tensors();
    return std::move(plan_);
  }

 private:
  const onnx::NodeProto& node(int i) const { return g_.node(i); }

  // The target CPU and the weight grid it implies (quant/cpu_features.h).
  void choose_weight_grid() {
    const CpuTarget cpu = resolve_cpu_target(opt_.target_cpu);
    plan_.target_cpu = cpu_target_name(cpu);
    plan_.target_cpu_source = opt_.target_cpu == CpuTarget::Auto ? "detected on this machine (cpuid)" : "--target-cpu";
    const bool saturates = saturates_without_reduce_range(cpu);
    switch (opt_.reduce_range) {
      case ReduceRange::Auto:
        plan_.reduce_range = saturates;
        plan_.reduce_range_reason =
            saturates ? "on: avx2 has no VNNI; ORT's u8 x s8 kernels add pairs of products in int16, which saturates with 8-bit weights"
                      : fmt::format("off: {} sums u8 x s8 products in int32 (VNNI), 8-bit weights cannot saturate", plan_.target_cpu);
        break;
      case ReduceRange::On:
        plan_.reduce_range = true;
        plan_.reduce_range_reason = "on: --reduce-range";
        break;
      case ReduceRange::Off:
        plan_.reduce_range = false;
        plan_.reduce_range_reason = saturates ? "off: --no-reduce-range (warning: avx2 without VNNI can saturate int16 sums)" : "off: --no-reduce-range";
        break;
    }
    w_qmin_ = plan_.reduce_range ? -64 : -127;
    w_qmax_ = plan_.reduce_range ? 63 : 127;
  }

  void decide(int i) {
    const auto& n = node(i);
    NodeDecision d{n.name(), n.op_type(), n.output_size() ? n.output(0) : "", false, "", ""};
    if (auto f = folded_.find(i); f != folded_.end()) {
      d.quantized = true;
      d.rule = find_fusion_rule(n.op_type())->name;
      d.reason = f->second;
      plan_.nodes.push_back(std::move(d));
      return;
    }
    if (auto why = float_reason(i); !why.empty()) {
      keep_output_float_if_ort_would_fuse(i, why);
      d.reason = why;
      plan_.nodes.push_back(std::move(d));
      return;
    }
    const FusionRule& rule = *find_fusion_rule(n.op_type());
    d.quantized = true;
    d.rule = rule.name;
    d.reason = rule.ort_fusion;
    commit(i, rule);
    plan_.nodes.push_back(std::move(d));
  }

  // ORT fuses every DQ -> op -> Q group it has a kernel for, whatever the plan meant: an op kept float on
  // purpose (protected, excluded) whose inputs come from DQs would still become QLinearSoftmax & co. if a
  // Q followed it. So its outputs get no Q, and consumers that would need one stay float too.
  void keep_output_float_if_ort_would_fuse(int i, const std::string& why) {
    const auto& n = node(i);
    const FusionRule* rule = n.domain().empty() ? find_fusion_rule(n.op_type()) : nullptr;
    if (!rule || rule->kind != RuleKind::Elementwise) return;
    if (why.rfind("protected:", 0) != 0 && why.rfind("fp32: excluded", 0) != 0) return;
    // Fusable only when every input already comes from a DQ (a float constant operand never does).
    for (const auto& in : n.input())
      if (!in.empty() && !acts_.count(in)) return;
    for (const auto& o : n.output()) no_q_.emplace(o, node_label(n));
  }

  // Why node i stays float, or "" when it can be quantized under its rule.
  std::string float_reason(int i) {
    const auto& n = node(i);
    if (auto p = excluder_.match(n)) return fmt::format("fp32: excluded by --exclude '{}'", *p);
    if (kProtectedOps.count(n.op_type()) && n.domain().empty())
      return fmt::format("protected: {} stays float (int8 {} outputs lose too much accuracy)", n.op_type(), n.op_type());
    if (auto p = protected_.find(i); p != protected_.end()) return p->second;
    const FusionRule* rule = n.domain().empty() || n.domain() == "ai.onnx" ? find_fusion_rule(n.op_type()) : nullptr;
    if (!rule) return fmt::format("fp32: no ORT integer kernel targeted for {}", n.op_type());
    if (rule->opt_in && !opt_.quantize_softmax)
      return fmt::format("protected: {} stays float unless asked (--quantize-softmax): int8 probabilities lose the small ones", n.op_type());
    if (rule->kind == RuleKind::FoldIntoProducer)
      return fmt::format("fp32: {} not directly behind a quantized op as its only consumer, or the Q range would not clip like it "
                         "(ORT has no integer {})", n.op_type(), n.op_type());
    if (n.output_size() != 1 && rule->kind != RuleKind::PassThrough) return "fp32: more than one output";
    for (const auto& t : n.output())
      if (auto f = float_inputs_.find(t); f != float_inputs_.end())
        return fmt::format("fp32: output '{}' is read by protected {}; quantized, ORT would run that MatMul on integers", t, f->second);
    for (const auto& t : n.input())
      if (auto f = float_inputs_.find(t); f != float_inputs_.end())
        return fmt::format("fp32: input '{}' is read by protected {}; quantized, ORT would run that MatMul on integers", t, f->second);
    for (const auto& o : n.output())
      if (!g_.subgraph_consumers(o).empty())
        return fmt::format("fp32: output '{}' is read inside a subgraph; ORT fuses only when every reader is a QuantizeLinear", o);
    // Activation inputs (and the constant operand of Add/Mul).
    const bool constant_operand_ok = n.op_type() == "Add" || n.op_type() == "Mul";
    const int count = rule->activation_inputs < 0 ? n.input_size() : std::min(rule->activation_inputs, n.input_size());
    int activations = 0;
    for (int k = 0; k < count; ++k) {
      const std::string& t = n.input(k);
      if (t.empty()) continue;
      if (stored(t) || g_.constant_value(t)) {
        if (!constant_operand_ok) return fmt::format("fp32: input '{}' is a constant (only activations are quantized by this rule)", t);
        const auto* init = stored(t);
        if (!init || init->data_type() != onnx::TensorProto::FLOAT) return fmt::format("fp32: constant input '{}' is not a float32 initializer", t);
        continue;
      }
      if (!reach_.count(t)) return fmt::format("protected: input '{}' is computed only from non-image inputs", t);
      if (auto p = no_q_.find(t); p != no_q_.end())
        return fmt::format("fp32: input '{}' comes from {}, kept float on purpose; a Q behind it would let ORT fuse it anyway", t, p->second);
      if (!act_params(t)) return fmt::format("fp32: no calibration range for input '{}'", t);
      ++activations;
    }
    if (activations == 0) return "fp32: every input is a constant";
    if (rule->kind == RuleKind::PassThrough && !acts_.count(n.input(0)))
      return fmt::format("fp32: input '{}' is not quantized; Q/DQ around {} pays off only inside an int8 region", n.input(0), n.op_type());
    if (rule->kind == RuleKind::Compute)
      if (auto why = compute_reason(n); !why.empty()) return why;
    const std::string out = quantized_output(i);
    const bool float_output = float_output_kernel(i);
    if (!float_output) {
      for (const auto& o : n.output())
        if (g_.is_graph_output(o)) return fmt::format("protected: output '{}' is a graph output", o);
      if (rule->kind != RuleKind::PassThrough && !act_params(out)) return fmt::format("fp32: no calibration range for output '{}'", out);
    }
    if (rule->kind == RuleKind::Compute && n.input_size() > 2 && !n.input(2).empty())
      if (auto why = bias_overflow(n); !why.empty()) return why;
    return {};
  }

  std::string compute_reason(const onnx::NodeProto& n) {
    if (n.input_size() < 2) return "fp32: no weight input";
    if (activation_weight(n)) {
      const std::string& b = n.input(1);
      if (!reach_.count(b)) return fmt::format("protected: input '{}' is computed only from non-image inputs", b);
      if (auto p = no_q_.find(b); p != no_q_.end())
        return fmt::format("fp32: input '{}' comes from {}, kept float on purpose; a Q behind it would let ORT fuse it anyway", b, p->second);
      if (!act_params(b)) return fmt::format("fp32: no calibration range for input '{}'", b);
      return {};
    }
    const auto* w = stored(n.input(1));
    if (!w || w->data_type() != onnx::TensorProto::FLOAT)
      return fmt::format("fp32: weight '{}' is not a float32 initializer", n.input(1));
    const int rank = w->dims_size();
    if (n.op_type() == "Conv" && rank < 3) return "fp32: Conv weight of rank < 3";
    if (n.op_type() == "MatMul" && rank != 2) return fmt::format("fp32: MatMul weight '{}' has rank {} (2 is handled)", n.input(1), rank);
    if (n.op_type() == "Gemm") {
      if (rank != 2) return "fp32: Gemm weight is not 2-D";
      if (int_attr(n, "transA", 0) != 0) return "fp32: Gemm with transA=1 (QGemm's selector needs transA=0)";
      if (float_attr(n, "alpha", 1.f) != 1.f || float_attr(n, "beta", 1.f) != 1.f) return "fp32: Gemm with alpha/beta != 1";
    }
    if (n.input_size() > 2 && !n.input(2).empty()) {
      const auto* b = stored(n.input(2));
      const int64_t channels = w->dims(static_cast<int>(weight_axis(n)));
      if (!b || b->data_type() != onnx::TensorProto::FLOAT || b->dims_size() != 1 || b->dims(0) != channels)
        return fmt::format("fp32: bias '{}' is not a float32 initializer of shape [{}]", n.input(2), channels);
    }
    return {};
  }

  // The initializer holding a constant input: the tensor itself, or the source of an Identity (PyTorch's
  // exporter shares equal biases through Identity nodes; squeezenet1_1 reads 18 of its 26 biases so).
  // rewrite/quantize_weights.h resolves the same way.
  const onnx::TensorProto* stored(const std::string& t) const {
    if (const auto* init = g_.initializer(t)) return init;
    const int p = g_.producer(t);
    if (p < 0 || node(p).op_type() != "Identity" || !node(p).domain().empty()) return nullptr;
    return g_.initializer(node(p).input(0));
  }

  // MatMul of two activations (QLinearMatMul takes both from DQs): input 1 is computed, not stored.
  bool activation_weight(const onnx::NodeProto& n) const {
    return n.op_type() == "MatMul" && n.input_size() == 2 && !stored(n.input(1)) && !g_.constant_value(n.input(1));
  }

  // A Gemm, or a MatMul with a stored weight, whose output is a graph output: its inputs are quantized
  // and its output stays float, with no Q behind it. ORT runs that group as QGemm with a float output or
  // as MatMulIntegerToFloat (both selectors accept a missing Q), so a classifier head computes in
  // integers and its weight is stored in int8 (4.9 of mobilenet_v2's 7.4 MiB were this one float Gemm).
  bool float_output_kernel(int i) const {
    const auto& n = node(i);
    if ((n.op_type() != "Gemm" && n.op_type() != "MatMul") || n.output_size() != 1 || activation_weight(n)) return false;
    return g_.is_graph_output(n.output(0));
  }

  // Output-channel axis of the weight (DESIGN.md): Conv 0; Gemm transB=1 0, transB=0 1; MatMul last.
  static int64_t weight_axis(const onnx::NodeProto& n) {
    if (n.op_type() == "Gemm") return int_attr(n, "transB", 0) ? 0 : 1;
    if (n.op_type() == "MatMul") return 1;
    return 0;
  }

  // The tensor the node's Q goes behind: its output, or the output of a Relu/Clip it feeds alone when the
  // Q's range clips like it, so that ORT drops the Relu/Clip.
  std::string quantized_output(int i) {
    const auto& n = node(i);
    const std::string& out = n.output(0);
    const FusionRule* rule = find_fusion_rule(n.op_type());
    if (rule->kind == RuleKind::PassThrough) return out;
    const auto& consumers = g_.consumers(out);
    if (consumers.size() != 1 || g_.is_graph_output(out) || !g_.subgraph_consumers(out).empty()) return out;
    const auto& act = node(consumers[0]);
    const FusionRule* fold = act.domain().empty() ? find_fusion_rule(act.op_type()) : nullptr;
    if (!fold || fold->kind != RuleKind::FoldIntoProducer || excluder_.match(act) || protected_.count(consumers[0])) return out;
    if (g_.is_graph_output(act.output(0)) || !fold_params(act)) return out;
    return act.output(0);
  }

  // The Q dtype's full grid, as ORT's Relu/ClipQuantFusion read it from the zero point's type.
  std::pair<int32_t, int32_t> q_grid() const {
    return opt_.activations == QuantTarget::UInt8Asymmetric ? std::pair{0, 255} : std::pair{-128, 127};
  }

  // ORT's QLinearConcat copies an input that is on the output's grid and requantizes any other one element
  // by element through a lookup table (contrib_ops/cpu/quantization/qlinear_concat.cc). So a Concat whose
  // inputs nothing else reads gets one grid for all of them: the union of their calibrated ranges, on
  // every input (the producers write straight onto it, for free) and on the output. Measured on
  // squeezenet1_1 (8 fire-module Concats): ours was 0.94x the speed of ORT's own quantized model, whose
  // Concat output range happens to equal its larger input's (one copy, one requantization per Concat).
  // Accuracy: the input with the smaller range is rounded once onto the wider grid, where a separate grid
  // rounded it twice (its own, then the output's). Only for uint8 activations, and only where the
  // union keeps a folded Relu/Clip in front foldable (Relu: the union stays >= 0; Clip: inside its
  // bounds); int8 symmetric activations give non-negative tensors their own grid (fold_params).
  // An input behind pass-through ops (a detector's upsampling Resize) inherits its grid from the tensor
  // in front of them, so that tensor is the one put on the shared grid (grid_origin).
  void share_concat_grids() {
    if (opt_.activations != QuantTarget::UInt8Asymmetric) return;
    for (int i = 0; i < g_.node_count(); ++i) {
      const auto& n = node(i);
      if (n.op_type() != "Concat" || !n.domain().empty() || n.output_size() != 1 || !ranges_.count(n.output(0))) continue;
      Range u{std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
      bool shareable = n.input_size() > 1;
      std::vector<std::string> origins;
      for (const auto& in : n.input()) {
        shareable = shareable && !in.empty() && ranges_.count(in) && !stored(in) && !g_.is_graph_output(in) && g_.consumers(in).size() == 1;
        if (!shareable) break;
        origins.push_back(grid_origin(in));
        const Range& r = ranges_.at(origins.back());
        u.min = std::min(u.min, r.min);
        u.max = std::max(u.max, r.max);
      }
      for (size_t k = 0; shareable && k < origins.size(); ++k) {
        const int p = g_.producer(origins[k]);
        if (p < 0) continue;
        const auto& prod = node(p);
        if (prod.op_type() == "Relu") shareable = u.min >= 0;
        if (prod.op_type() == "Clip") {
          const auto b = clip_bounds(prod);
          shareable = b && u.min >= b->first && u.max <= b->second;
        }
      }
      if (!shareable) continue;
      const ActParams grid = fixed_params(u);
      for (const auto& t : origins) overrides_[t] = grid;
      for (const auto& in : n.input()) overrides_[in] = grid;
      overrides_[n.output(0)] = grid;
    }
  }

  // The tensor whose grid `t` inherits through pass-through ops (one output each) that nothing else reads
  // from: changing that tensor's grid then changes only this chain's.
  std::string grid_origin(std::string t) const {
    for (;;) {
      const int p = g_.producer(t);
      if (p < 0) return t;
      const auto& n = node(p);
      const FusionRule* rule = n.domain().empty() ? find_fusion_rule(n.op_type()) : nullptr;
      if (!rule || rule->kind != RuleKind::PassThrough || n.output_size() != 1 || n.input_size() == 0) return t;
      const std::string& in = n.input(0);
      if (in.empty() || stored(in) || g_.is_graph_output(in) || g_.consumers(in).size() != 1 || !ranges_.count(in)) return t;
      t = in;
    }
  }

  // Clip bounds from inputs 1/2 (opset >= 11) or attributes (older); nullopt when not constant.
  std::optional<std::pair<float, float>> clip_bounds(const onnx::NodeProto& n) const {
    float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
    lo = float_attr(n, "min", lo);
    hi = float_attr(n, "max", hi);
    for (int k : {1, 2}) {
      if (n.input_size() <= k || n.input(k).empty()) continue;
      const auto v = g_.constant_value(n.input(k));
      if (!v || v->dtype != DType::Float32 || v->elements() != 1) return std::nullopt;
      (k == 1 ? lo : hi) = v->as<float>()[0];
    }
    return std::pair{lo, hi};
  }

  // Scale/zp of the Q behind a Relu/Clip such that ORT removes the Relu/Clip, or nullopt. Relu: zero
  // point = grid minimum. Clip: [s*(qmin-zp), s*(qmax-zp)] inside [min, max] up to float epsilon, checked
  // in float as ORT does; the calibrated scale is nudged down by a few ulps when rounding pushes the top
  // of the grid just past the Clip's max (a range calibrated at exactly 6.0 for ReLU6).
  //
  // With int8 symmetric activations a Relu/Clip(0, x) output would get zero point 0, which is not the
  // grid minimum, so ORT would keep the Relu and the op in front would not fuse. Such a non-negative
  // tensor gets int8 with zero point -128 instead (scale max/255): still int8, and twice the resolution.
  std::optional<ActParams> fold_params(const onnx::NodeProto& act) {
    auto p = act_params(act.output(0));
    if (!p) return std::nullopt;
    const auto [qmin, qmax] = q_grid();
    const auto bounds = act.op_type() == "Clip" ? clip_bounds(act) : std::pair{0.f, std::numeric_limits<float>::infinity()};
    if (!bounds) return std::nullopt;
    // The op guarantees non-negative values; an int8 symmetric range is [-max, max] with max = max|x|.
    const auto r = ranges_.find(act.output(0));
    const bool non_negative_int8 = opt_.activations == QuantTarget::Int8Symmetric && bounds->first >= 0.f && !acts_.count(act.output(0)) &&
                                   r != ranges_.end() && r->second.max > 0;
    if (non_negative_int8) p = ActParams{r->second.max / 255.0, qmin};
    if (act.op_type() == "Relu") {
      if (p->zero_point != qmin) return std::nullopt;
      if (non_negative_int8) overrides_[act.output(0)] = *p;
      return p;
    }
    float s = static_cast<float>(p->scale);
    for (int tries = 0; tries < 16; ++tries) {
      const float lower = s * static_cast<float>(qmin - p->zero_point), upper = s * static_cast<float>(qmax - p->zero_point);
      if (!(kFloatEps < bounds->first - lower) && !(kFloatEps < upper - bounds->second)) {
        overrides_[act.output(0)] = ActParams{static_cast<double>(s), p->zero_point};
        return overrides_[act.output(0)];
      }
      s = std::nextafter(s, 0.0f);
    }
    return std::nullopt;
  }

  // Scale/zp of an activation: already planned (possibly inherited through a pass-through), else from
  // its calibrated range.
  std::optional<ActParams> act_params(const std::string& t) const {
    if (auto it = acts_.find(t); it != acts_.end()) return ActParams{plan_.tensors[it->second].scales[0], plan_.tensors[it->second].zero_points[0]};
    if (auto it = overrides_.find(t); it != overrides_.end()) return it->second;
    auto r = ranges_.find(t);
    if (r == ranges_.end()) return std::nullopt;
    const QuantParams q = compute_qparams(r->second, opt_.activations);
    return ActParams{q.scale, q.zero_point};
  }

  DType act_dtype() const { return opt_.activations == QuantTarget::UInt8Asymmetric ? DType::UInt8 : DType::Int8; }

  void add_activation(const std::string& t, const std::string& reason, const std::string& same_as = {}) {
    if (acts_.count(t)) return;
    const ActParams p = same_as.empty() ? *act_params(t) : *act_params(same_as);
    TensorDecision d;
    d.tensor = t;
    d.role = TensorRole::Activation;
    d.dtype = act_dtype();
    d.scales = {p.scale};
    d.zero_points = {p.zero_point};
    d.same_as = same_as;
    d.reason = fmt::format("{} {}", target_name(opt_.activations), reason);
    acts_[t] = static_cast<int>(plan_.tensors.size());
    plan_.tensors.push_back(std::move(d));
  }

  void commit(int i, const FusionRule& rule) {
    const auto& n = node(i);
    const int count = rule.activation_inputs < 0 ? n.input_size() : std::min(rule.activation_inputs, n.input_size());
    for (int k = 0; k < count; ++k) {
      if (n.input(k).empty()) continue;
      if (stored(n.input(k))) add_constant_operand(n, k);
      else add_activation(n.input(k), "input of " + node_label(n));
    }
    const std::string out = quantized_output(i);
    if (rule.kind == RuleKind::PassThrough) {
      for (const auto& o : n.output())
        add_activation(o, fmt::format("same scale/zp as '{}' (pass-through {}: ORT drops the Q/DQ pair)", n.input(0), n.op_type()), n.input(0));
    } else if (out != n.output(0)) {
      const int act = g_.consumers(n.output(0))[0];
      const std::string& op = node(act).op_type();
      folded_[act] = fmt::format("{} in front of a Q whose range clips like it: ORT removes it ({}QuantFusion); folded into {}", op, op, node_label(n));
      float_reasons_.emplace(n.output(0), fmt::format("float: the {} behind it is removed by ORT, so the Q goes after the {}", op, op));
      add_activation(out, fmt::format("output of {} behind {} ({} folded)", op, node_label(n), op));
    } else if (float_output_kernel(i)) {
      float_reasons_.emplace(out, fmt::format("float: graph output; {} computes in integers and writes float (no Q behind it)", node_label(n)));
    } else if (n.op_type() == "Softmax") {
      overrides_[out] = fixed_params({0.0, 1.0});
      add_activation(out, "output of " + node_label(n) + ", fixed range [0, 1]");
    } else {
      add_activation(out, "output of " + node_label(n));
    }
    if (rule.kind == RuleKind::Compute && activation_weight(n)) add_activation(n.input(1), "input of " + node_label(n));
    else if (rule.kind == RuleKind::Compute) add_weights(n);
  }

  ActParams fixed_params(Range r) const {
    const QuantParams q = compute_qparams(r, opt_.activations);
    return {q.scale, q.zero_point};
  }

  // A constant operand of Add/Mul: quantized per tensor on the activation grid from its own min/max (with
  // 0), stored as its own initializer and read through a DQ, so ORT's BinarySelector sees two DQ inputs.
  void add_constant_operand(const onnx::NodeProto& n, int k) {
    const Tensor c = tensor_from_proto(*stored(n.input(k)));
    Range r;
    for (float v : c.as<float>()) {
      r.min = std::min(r.min, static_cast<double>(v));
      r.max = std::max(r.max, static_cast<double>(v));
    }
    const QuantParams q = compute_qparams(r, opt_.activations);
    TensorDecision d;
    d.tensor = n.input(k);
    d.consumer = n.name();
    d.consumer_output = n.output(0);
    d.input_index = k;
    d.role = TensorRole::Constant;
    d.dtype = act_dtype();
    d.scales = {q.scale};
    d.zero_points = {q.zero_point};
    d.qmin = q.qmin;
    d.qmax = q.qmax;
    d.reason = fmt::format("{} constant operand of {} (range [{:.6g}, {:.6g}]): its own DQ, so ORT fuses the {}",
                           target_name(opt_.activations), node_label(n), r.min, r.max, n.op_type());
    weights_.push_back(std::move(d));
  }

  // Weight scales of a compute node, with the int32-bias guard (quant/weight_scales.h). `raised` counts
  // the channels whose scale was raised.
  std::vector<double> node_weight_scales(const onnx::NodeProto& n, int* raised = nullptr) {
    std::vector<double> sw = symmetric_weight_scales(tensor_from_proto(*stored(n.input(1))), weight_axis(n), opt_.weights, w_qmax_);
    if (n.input_size() < 3 || n.input(2).empty()) return sw;
    const auto s_in = act_params(n.input(0));
    if (!s_in) return sw;
    const int r = raise_scales_for_int32_bias(sw, tensor_from_proto(*stored(n.input(2))), s_in->scale);
    if (raised) *raised = r;
    return sw;
  }

  // b[c] / (s_in * s_w[c]) beyond int32 means ORT cannot take the bias as int32 (left after raising
  // scales only for non-finite values).
  std::string bias_overflow(const onnx::NodeProto& n) {
    const Tensor b = tensor_from_proto(*stored(n.input(2)));
    const std::vector<double> sw = node_weight_scales(n);
    const double s_in = act_params(n.input(0))->scale;
    const auto bv = b.as<float>();
    for (size_t c = 0; c < bv.size(); ++c) {
      const double q = std::nearbyint(bv[c] / (s_in * sw[sw.size() == 1 ? 0 : c]));
      if (!(std::fabs(q) <= std::numeric_limits<int32_t>::max()))
        return fmt::format("fp32: int32 bias would overflow: b[{}] / (s_in * s_w[{}]) = {:.4g} (ORT fuses only with an int32 bias)", c, c, q);
    }
    return {};
  }

  void add_weights(const onnx::NodeProto& n) {
    const Tensor w = tensor_from_proto(*stored(n.input(1)));
    const int64_t axis = weight_axis(n);
    int raised = 0;
    const std::vector<double> sw = node_weight_scales(n, &raised);
    const bool per_channel = opt_.weights == Granularity::PerChannel;
    std::string what = n.op_type() + " weight";
    if (n.op_type() == "Conv" && int_attr(n, "group", 1) > 1)
      what = int_attr(n, "group", 1) == w.shape[0] ? "depthwise Conv weight" : fmt::format("grouped Conv weight, group={}", int_attr(n, "group", 1));
    if (n.op_type() == "Gemm") what += fmt::format(", transB={}", int_attr(n, "transB", 0));
    const size_t users = g_.consumers(n.input(1)).size() + g_.subgraph_consumers(n.input(1)).size();
    const std::string shared = users > 1 ? fmt::format("; shared by {} nodes: this consumer reads its own quantized copy", users) : "";
    TensorDecision d;
    d.tensor = n.input(1);
    d.consumer = n.name();
    d.consumer_output = n.output(0);
    d.input_index = 1;
    d.role = TensorRole::Weight;
    d.dtype = DType::Int8;
    d.granularity = opt_.weights;
    d.axis = per_channel ? axis : 0;
    d.scales = sw;
    d.zero_points.assign(sw.size(), 0);
    d.qmin = w_qmin_;
    d.qmax = w_qmax_;
    std::string grid = plan_.reduce_range ? ", 7-bit [-64, 63] (reduce range)" : "";
    if (raised) grid += fmt::format(", {} scale(s) raised so that the int32 bias fits: those weights round to 0", raised);
    d.reason = per_channel ? fmt::format("int8 per-channel axis {} ({}{}){}", axis, what, grid, shared)
                           : fmt::format("int8 per-tensor ({}{}){}", what, grid, shared);
    weights_.push_back(d);
    if (n.input_size() < 3 || n.input(2).empty()) return;
    const double s_in = act_params(n.input(0))->scale;
    TensorDecision b;
    b.tensor = n.input(2);
    b.consumer = n.name();
    b.consumer_output = n.output(0);
    b.input_index = 2;
    b.role = TensorRole::Bias;
    b.dtype = DType::Int32;
    b.granularity = opt_.weights;
    b.axis = 0;
    for (double s : sw) b.scales.push_back(s_in * s);
    b.zero_points.assign(sw.size(), 0);
    b.reason = fmt::format("int32 bias, scale = input scale x weight scale{}, zero point 0", per_channel ? "[c]" : "");
    weights_.push_back(std::move(b));
  }

  // Every float tensor that got no Q/DQ, with the reason (graph inputs and node outputs).
  void add_float_tensors() {
    std::vector<std::string> names = g_.input_names();
    for (int i : g_.topological_order())
      for (const auto& o : node(i).output()) names.push_back(o);
    std::set<std::string> quantized;
    for (const auto& d : plan_.tensors)
      if (d.role == TensorRole::Activation) quantized.insert(d.tensor);
    for (const auto& t : names) {
      if (t.empty() || quantized.count(t)) continue;
      const auto type = g_.value_type(t);
      if (type && type->dtype != DType::Float32 && type->dtype != DType::Undefined) continue;
      if (!type && !ranges_.count(t)) continue;  // unknown type and never calibrated: not a float activation
      TensorDecision d;
      d.tensor = t;
      if (auto it = float_reasons_.find(t); it != float_reasons_.end()) d.reason = it->second;
      else if (g_.is_graph_output(t)) d.reason = "protected: graph output";
      else if (!reach_.count(t)) d.reason = "protected: computed only from non-image inputs";
      else if (!ranges_.count(t)) d.reason = "float: no calibration range";
      else d.reason = "float: neither produced nor read by a quantized op";
      plan_.tensors.push_back(std::move(d));
    }
  }

  Graph g_;
  const std::map<std::string, Range>& ranges_;
  const StaticPlanOptions& opt_;
  Excluder excluder_;
  std::set<std::string> reach_;
  std::vector<std::string> non_image_inputs_;
  QuantPlan plan_;
  std::map<std::string, int> acts_;  // activation tensor -> index in plan_.tensors
  std::map<int, std::string> folded_;  // Relu/Clip node -> reason (ORT removes it in front of the Q)
  std::map<std::string, ActParams> overrides_;  // fixed or nudged activation parameters (Softmax, Clip folds)
  std::map<int, std::string> protected_;
  std::map<std::string, std::string> no_q_;  // outputs of ops kept float on purpose -> that op
  std::map<std::string, std::string> float_inputs_;  // inputs of protected MatMuls of two activations -> that MatMul
  std::map<std::string, std::string> float_reasons_;
  std::vector<TensorDecision> weights_;
  int32_t w_qmin_ = -127, w_qmax_ = 127;
};

}  // namespace

QuantPlan plan_static_int8(const Model& model, const std::map<std::string, Range>& ranges, const StaticPlanOptions& options) {
  return Planner(model, ranges, options).run();
}

}  // namespace onnxquant
