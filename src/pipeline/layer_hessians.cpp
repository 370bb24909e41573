#include "pipeline/layer_hessians.h"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <memory>
#include <set>

#include "core/errors.h"
#include "ir/graph.h"
#include "ir/node_attributes.h"
#include "ir/model.h"
#include "rewrite/expose_tensors.h"
#include "rewrite/quantize_weights_only.h"
#include "rewrite/remove_dead_nodes.h"

namespace onnxquant {

namespace {

struct ConvGeometry {
  int64_t group = 1, kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, pt = 0, pl = 0, pb = 0, pr = 0;
};

// A node reading a quantized weight, and how its input rows are formed.
struct Target {
  std::string key, input;
  bool conv = false;
  ConvGeometry geo;
};

// Evenly spaced picks of at most `max` out of `total`.
std::vector<int64_t> picks(int64_t total, int64_t max) {
  std::vector<int64_t> out;
  const int64_t n = std::min(total, max);
  for (int64_t i = 0; i < n; ++i) out.push_back(static_cast<int64_t>(static_cast<double>(i) * total / n));
  return out;
}

// One Conv output position's receptive field in the weight's (in-channel, ky, kx) order, for one group.
void conv_row(std::span<const float> v, const Shape& shape, const ConvGeometry& g, int64_t oh, int64_t ow, int64_t p, int64_t grp, float* row) {
  const int64_t C = shape[1], H = shape[2], W = shape[3], cg = C / g.group;
  const int64_t n = p / (oh * ow), oy = (p / ow) % oh, ox = p % ow;
  size_t k = 0;
  for (int64_t c = 0; c < cg; ++c)
    for (int64_t ky = 0; ky < g.kh; ++ky)
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        const int64_t iy = oy * g.sh - g.pt + ky * g.dh, ix = ox * g.sw - g.pl + kx * g.dw;
        row[k++] = iy < 0 || iy >= H || ix < 0 || ix >= W ? 0.f : v[((n * C + grp * cg + c) * H + iy) * W + ix];
      }
}

// `ref`, when given, is the same layer input in the FP32 model: its rows (the same positions) go into
// the cross moment.
void add_sums(std::span<const float> rows, int64_t count, std::vector<double>& sums) {
  const auto dim = static_cast<int64_t>(sums.size());
  for (int64_t r = 0; r < count; ++r)
    for (int64_t i = 0; i < dim; ++i) sums[i] += rows[r * dim + i];
}

void add_conv_rows(const Tensor& x, const Tensor* ref, bool half, const Target& t, int64_t max_rows, LayerStatistics& s) {
  if (x.shape.size() != 4) throw DataError(fmt::format("Conv input '{}' has shape {}; GPTQ handles 2-D convolutions (rank 4)", t.input, shape_string(x.shape)));
  if (ref && ref->shape != x.shape) throw InternalError(fmt::format("Conv input '{}' differs in shape between the two models", t.input));
  const auto& g = t.geo;
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t oh = (H + g.pt + g.pb - g.dh * (g.kh - 1) - 1) / g.sh + 1, ow = (W + g.pl + g.pr - g.dw * (g.kw - 1) - 1) / g.sw + 1;
  const int64_t dim = C / g.group * g.kh * g.kw;
  const std::vector<int64_t> at = picks(N * oh * ow, max_rows);
  // Rows go to the Hessians in batches (BlockHessian::add_rows streams each block once per batch).
  constexpr int64_t kBatch = 64;
  std::vector<float> rows(static_cast<size_t>(kBatch * dim)), ref_rows(ref ? rows.size() : 0);
  for (size_t p0 = 0; p0 < at.size(); p0 += kBatch) {
    const auto m = static_cast<int64_t>(std::min<size_t>(kBatch, at.size() - p0));
    const auto used = static_cast<size_t>(m * dim);
    for (int64_t grp = 0; grp < g.group; ++grp) {
      for (int64_t r = 0; r < m; ++r) {
        conv_row(x.as<float>(), x.shape, g, oh, ow, at[p0 + r], grp, rows.data() + r * dim);
        if (ref) conv_row(ref->as<float>(), x.shape, g, oh, ow, at[p0 + r], grp, ref_rows.data() + r * dim);
      }
      s.hessians[grp].add_rows(std::span<const float>(rows).first(used), m);
      add_sums(rows, m, s.row_sums[grp]);
      if (ref) {
        s.cross[grp].add_rows(std::span<const float>(rows).first(used), std::span<const float>(ref_rows).first(used), m);
        add_sums(ref_rows, m, s.reference_row_sums[grp]);
        if (half) {
          s.hessians_half[grp].add_rows(std::span<const float>(rows).first(used), m);
          s.cross_half[grp].add_rows(std::span<const float>(rows).first(used), std::span<const float>(ref_rows).first(used), m);
        }
      }
    }
  }
}

void add_linear_rows(const Tensor& x, const Tensor* ref, bool half, const Target& t, int64_t max_rows, LayerStatistics& s) {
  const int64_t K = s.views.front().cols;
  if (x.shape.empty() || x.shape.back() != K)
    throw DataError(fmt::format("input '{}' of shape {} does not end in the weight's {} inputs", t.input, shape_string(x.shape), K));
  if (ref && ref->shape != x.shape) throw InternalError(fmt::format("input '{}' differs in shape between the two models", t.input));
  const std::vector<int64_t> at = picks(x.elements() / K, max_rows);
  auto gather = [&](const Tensor& from) {
    const auto v = from.as<float>();
    std::vector<float> rows;
    rows.reserve(at.size() * static_cast<size_t>(K));
    for (int64_t r : at) rows.insert(rows.end(), v.begin() + r * K, v.begin() + (r + 1) * K);
    return rows;
  };
  const std::vector<float> rows = gather(x);
  const auto count = static_cast<int64_t>(at.size());
  s.hessians.front().add_rows(rows, count);
  add_sums(rows, count, s.row_sums.front());
  if (ref) {
    const std::vector<float> ref_rows = gather(*ref);
    s.cross.front().add_rows(rows, ref_rows, count);
    add_sums(ref_rows, count, s.reference_row_sums.front());
    if (half) {
      s.hessians_half.front().add_rows(rows, count);
      s.cross_half.front().add_rows(rows, ref_rows, count);
    }
  }
}

}  // namespace

std::vector<MatrixView> weight_views(const WeightDecision& d, int64_t group, std::string& why) {
  std::vector<MatrixView> views;
  if (d.op_type == "Conv" && d.shape.size() == 4) {
    const int64_t O = d.shape[0], cols = d.shape[1] * d.shape[2] * d.shape[3];
    if (group < 1 || O % group) {
      why = fmt::format("Conv group {} does not divide {} output channels", group, O);
      return {};
    }
    const int64_t rows = O / group;
    for (int64_t g = 0; g < group; ++g) {
      MatrixView m{rows, cols, {}};
      m.index.resize(static_cast<size_t>(rows * cols));
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) m.index[r * cols + c] = (g * rows + r) * cols + c;
      views.push_back(std::move(m));
    }
    return views;
  }
  if ((d.op_type == "Gemm" || d.op_type == "MatMul") && d.shape.size() == 2) {
    const bool nk = d.channel_axis == 0;  // [N, K] (Gemm transB=1), else [K, N]
    const int64_t N = nk ? d.shape[0] : d.shape[1], K = nk ? d.shape[1] : d.shape[0];
    MatrixView m{N, K, {}};
    m.index.resize(static_cast<size_t>(N * K));
    for (int64_t r = 0; r < N; ++r)
      for (int64_t c = 0; c < K; ++c) m.index[r * K + c] = nk ? r * K + c : c * N + r;
    views.push_back(std::move(m));
    return views;
  }
  why = fmt::format("{} weight of shape {}", d.op_type, shape_string(d.shape));
  return {};
}

namespace {

// Prunes an exposed model to the nodes its exposed tensors need: the graph's own outputs go, and with
// them every node behind the last exposed layer input (a round of the sequential driver needs only a
// prefix of the model).
void keep_only_outputs(Model& m, const std::vector<std::string>& names) {
  auto* outputs = m.proto().mutable_graph()->mutable_output();
  for (int i = outputs->size() - 1; i >= 0; --i)
    if (std::find(names.begin(), names.end(), outputs->Get(i).name()) == names.end()) outputs->DeleteSubrange(i, 1);
  RemoveDeadNodes().run(m);
}

LayerHessians collect(const Model& model, const WeightOnlyPlan& plan, const std::vector<NamedTensors>& samples, const HessianOptions& opt,
                      const std::set<std::string>* only, const Model* reference) {
  LayerHessians out;
  const Graph g(model.proto().graph());
  std::map<std::string, int> by_output;
  for (int i = 0; i < g.node_count(); ++i)
    if (g.node(i).output_size()) by_output.emplace(g.node(i).output(0), i);
  std::vector<Target> targets;
  std::vector<std::string> keys;  // in plan order, once each
  for (const auto& d : plan.weights) {
    if (!d.quantized) continue;
    const auto& n = g.node(by_output.at(d.consumer_output));
    Target t{weight_key(d), n.input(0), n.op_type() == "Conv", {}};
    if (only && !only->count(t.key)) continue;
    std::string why;
    if (t.conv) {
      auto& geo = t.geo;
      geo.group = int_attr(n, "group", 1);
      const auto auto_pad = string_attr(n, "auto_pad");
      if (!auto_pad.empty() && auto_pad != "NOTSET" && auto_pad != "VALID") why = "Conv with auto_pad " + auto_pad;
      const auto s = ints_attr(n, "strides"), dl = ints_attr(n, "dilations"), p = ints_attr(n, "pads");
      if (d.shape.size() == 4) {
        geo.kh = d.shape[2], geo.kw = d.shape[3];
        if (s.size() == 2) geo.sh = s[0], geo.sw = s[1];
        if (dl.size() == 2) geo.dh = dl[0], geo.dw = dl[1];
        if (p.size() == 4 && auto_pad != "VALID") geo.pt = p[0], geo.pl = p[1], geo.pb = p[2], geo.pr = p[3];
      }
    }
    if (n.op_type() == "Gemm" && int_attr(n, "transA", 0)) why = "Gemm with transA=1";
    if (n.op_type() == "Gather") why = "embedding table (its rows are looked up, not multiplied)";
    std::vector<MatrixView> views;
    if (why.empty()) views = weight_views(d, t.conv ? t.geo.group : 1, why);
    if (!why.empty()) {
      out.unsupported.push_back(d.tensor + ": " + why);
      continue;
    }
    auto [it, fresh] = out.by_key.try_emplace(t.key);
    if (fresh) {
      for (auto& v : views) {
        it->second.hessians.emplace_back(v.cols, opt.block);
        it->second.row_sums.emplace_back(static_cast<size_t>(v.cols), 0.0);
        if (reference) {
          it->second.cross.emplace_back(v.cols, opt.block);
          it->second.hessians_half.emplace_back(v.cols, opt.block);
          it->second.cross_half.emplace_back(v.cols, opt.block);
          it->second.reference_row_sums.emplace_back(static_cast<size_t>(v.cols), 0.0);
        }
      }
      it->second.views = std::move(views);
      keys.push_back(t.key);
    }
    targets.push_back(std::move(t));
  }
  out.samples = static_cast<int64_t>(samples.size());
  if (samples.empty() || keys.empty()) return out;

  // Rounds of keys whose statistics fit the budget (a key larger than the budget gets a round of its own).
  std::vector<std::vector<std::string>> rounds(1);
  size_t used = 0;
  for (const auto& k : keys) {
    size_t bytes = 0;
    for (const auto& h : out.by_key.at(k).hessians) bytes += h.bytes();
    for (const auto& c : out.by_key.at(k).cross) bytes += 2 * c.bytes();
    for (const auto& h : out.by_key.at(k).hessians_half) bytes += h.bytes();
    if (used + bytes > opt.memory_budget_bytes && !rounds.back().empty()) {
      rounds.emplace_back();
      used = 0;
    }
    rounds.back().push_back(k);
    used += bytes;
  }
  std::vector<std::string> graph_inputs = g.input_names();
  Progress progress("GPTQ statistics", static_cast<int64_t>(rounds.size() * samples.size()), opt.progress);
  for (const auto& round : rounds) {
    const std::set<std::string> in_round(round.begin(), round.end());
    std::vector<std::string> names;
    for (const auto& t : targets)
      if (in_round.count(t.key) && std::find(names.begin(), names.end(), t.input) == names.end()) names.push_back(t.input);
    std::vector<std::string> to_fetch;
    for (const auto& name : names)
      if (std::find(graph_inputs.begin(), graph_inputs.end(), name) == graph_inputs.end()) to_fetch.push_back(name);
    ExecOptions exec = opt.exec;
    exec.memory = MemoryPolicy::Lean;
    auto open = [&](const Model& m) {
      Model exposed = m.clone();
      ExposeTensors(to_fetch).run(exposed);
      if (only) keep_only_outputs(exposed, to_fetch);
      return std::make_unique<Executor>(exposed, exec);
    };
    std::unique_ptr<Executor> runner, ref_runner;
    if (!to_fetch.empty()) {
      runner = open(model);
      if (reference) ref_runner = open(*reference);
    }
    for (size_t index = 0; index < samples.size(); ++index) {
      const NamedTensors& sample = samples[index];
      const bool half = index % 2 == 0;
      NamedTensors got = runner ? runner->run(sample, to_fetch) : NamedTensors{};
      NamedTensors ref_got = ref_runner ? ref_runner->run(sample, to_fetch) : NamedTensors{};
      for (const auto& t : targets) {
        if (!in_round.count(t.key)) continue;
        const auto s = sample.find(t.input);
        const bool is_input = s != sample.end();
        const Tensor& x = is_input ? s->second : got.at(t.input);
        if (x.dtype != DType::Float32) throw DataError(fmt::format("layer input '{}' is {}, not float32", t.input, dtype_name(x.dtype)));
        const Tensor* ref = reference ? (is_input ? &s->second : &ref_got.at(t.input)) : nullptr;
        auto& stats = out.by_key.at(t.key);
        if (t.conv) add_conv_rows(x, ref, half, t, opt.max_rows_per_sample, stats);
        else add_linear_rows(x, ref, half, t, opt.max_rows_per_sample, stats);
      }
      progress.advance();
    }
    ++out.rounds;
  }
  progress.finish();
  return out;
}

}  // namespace

LayerHessians collect_layer_hessians(const Model& model, const WeightOnlyPlan& plan, const std::vector<NamedTensors>& samples,
                                     const HessianOptions& opt) {
  return collect(model, plan, samples, opt, nullptr, nullptr);
}

LayerHessians collect_layer_hessians(const Model& model, const WeightOnlyPlan& plan, const std::vector<NamedTensors>& samples,
                                     const HessianOptions& opt, const std::vector<std::string>& keys, const Model* reference) {
  const std::set<std::string> only(keys.begin(), keys.end());
  return collect(model, plan, samples, opt, &only, reference);
}

GptqLayers gptq_layers(const Model& model, const WeightOnlyPlan& plan) {
  // The same selection as a collection without samples, which runs nothing.
  HessianOptions quiet;
  quiet.progress = ProgressMode::Off;
  LayerHessians none = collect(model, plan, {}, quiet, nullptr, nullptr);
  GptqLayers out;
  out.unsupported = std::move(none.unsupported);
  std::set<std::string> seen;
  for (const auto& d : plan.weights) {
    const std::string key = weight_key(d);
    if (d.quantized && none.by_key.count(key) && seen.insert(key).second) out.keys.push_back(key);
  }
  return out;
}

}  // namespace onnxquant
