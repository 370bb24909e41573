#include "pipeline/bias_correction.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <limits>

#include "calib/clip_to_consumers.h"
#include "ir/graph.h"
#include "ir/model.h"
#include "ir/tensor_proto.h"
#include "pipeline/quantize_job.h"
#include "rewrite/expose_tensors.h"

namespace onnxquant {

namespace {

// A quantized Conv/Gemm whose bias can absorb the shift: the tensor measured (same name in both models),
// its float bias initializer, and the bounds of the Relu/Clip it is measured behind.
struct Target {
  std::string node, output, bias;
  int64_t channels = 0;
  ClipBounds active{-std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
};

std::vector<Target> correctable_nodes(const Model& fp32, const QuantPlan& plan) {
  const Graph g(fp32.proto().graph());
  std::vector<Target> targets;
  for (const auto& d : plan.nodes) {
    if (!d.quantized || (d.op_type != "Conv" && d.op_type != "Gemm")) continue;
    const int p = g.producer(d.output);
    if (p < 0) continue;
    const auto& n = g.node(p);
    if (n.input_size() < 3 || n.input(2).empty()) continue;
    const auto* b = g.initializer(n.input(2));
    // A bias shared with another node would move that node's output too.
    if (!b || b->data_type() != onnx::TensorProto::FLOAT || b->dims_size() != 1 || g.consumers(n.input(2)).size() != 1) continue;
    Target t{d.node.empty() ? d.output : d.node, d.output, n.input(2), b->dims(0)};
    // Behind a Relu/Clip that alone reads the output, the mean that matters downstream is the clipped
    // one. Where upstream noise is large (deep layers of mobilenet_v2 run at 0-3 dB SQNR) the quantized
    // pre-activation is wider than the float one, so its clipped mean is higher even when the
    // pre-activation means agree: matching the pre-activation would leave that shift in place.
    const auto& readers = g.consumers(d.output);
    if (readers.size() == 1 && !g.is_graph_output(d.output) && g.subgraph_consumers(d.output).empty())
      if (const auto bounds = clip_bounds(g, g.node(readers[0])); bounds && g.node(readers[0]).input(0) == d.output) {
        t.output = g.node(readers[0]).output(0);
        t.active = *bounds;
      }
    targets.push_back(std::move(t));
  }
  return targets;
}

// Per output channel (axis 1 of a Conv's [N, C, ...] or a Gemm's [M, C] output): sum of the values and
// of their squares.
// `active`: values strictly inside the activation's bounds, where the output moves with the bias.
struct ChannelSums {
  std::vector<double> sum, square_sum;
  std::vector<int64_t> active;
  int64_t values_per_channel = 0;
  explicit ChannelSums(int64_t channels)
      : sum(static_cast<size_t>(channels), 0.0), square_sum(static_cast<size_t>(channels), 0.0), active(static_cast<size_t>(channels), 0) {}
  double active_share(size_t c) const { return static_cast<double>(active[c]) / static_cast<double>(values_per_channel); }
  double mean(size_t c) const { return sum[c] / static_cast<double>(values_per_channel); }
  double rms(size_t c) const { return std::sqrt(square_sum[c] / static_cast<double>(values_per_channel)); }
};

void accumulate(const Tensor& t, const ClipBounds& bounds, ChannelSums& s) {
  if (t.shape.size() < 2 || t.shape[1] != static_cast<int64_t>(s.sum.size())) return;
  const int64_t n = t.shape[0], c = t.shape[1];
  const int64_t inner = t.elements() / std::max<int64_t>(1, n * c);
  const auto v = t.as<float>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      double sum = 0, sq = 0;
      int64_t active = 0;
      for (int64_t k = 0, base = (b * c + ch) * inner; k < inner; ++k) {
        sum += v[base + k];
        sq += static_cast<double>(v[base + k]) * v[base + k];
        active += v[base + k] > bounds.lo && v[base + k] < bounds.hi;
      }
      s.sum[ch] += sum;
      s.square_sum[ch] += sq;
      s.active[ch] += active;
    }
  s.values_per_channel += n * inner;
}

// Per-channel sums of `names` in `model` over `samples` (the tensors exposed as outputs).
std::vector<ChannelSums> channel_sums(const Model& model, const std::vector<Target>& targets, const std::vector<NamedTensors>& samples,
                                      const ExecOptions& exec) {
  std::vector<std::string> names;
  std::vector<ChannelSums> sums;
  for (const auto& t : targets) {
    names.push_back(t.output);
    sums.emplace_back(t.channels);
  }
  Model probe = model.clone();
  ExposeTensors(names).run(probe);
  Executor e(probe, exec);
  for (const auto& sample : samples) {
    const NamedTensors out = e.run(sample, names);
    for (size_t i = 0; i < targets.size(); ++i) accumulate(out.at(names[i]), targets[i].active, sums[i]);
  }
  return sums;
}

constexpr double kMinActiveShare = 0.25;

onnx::TensorProto* find_initializer(Model& m, const std::string& name) {
  for (auto& init : *m.proto().mutable_graph()->mutable_initializer())
    if (init.name() == name) return &init;
  return nullptr;
}

}  // namespace

BiasCorrectionReport correct_biases(Model& fp32, const std::map<std::string, Range>& ranges, const StaticPlanOptions& plan,
                                    const std::vector<NamedTensors>& samples, const ExecOptions& exec, const BiasCorrectionOptions& options) {
  BiasCorrectionReport report;
  report.samples = static_cast<int>(samples.size());
  if (samples.empty()) return report;
  const std::vector<Target> targets = correctable_nodes(fp32, quantize_static(fp32, ranges, plan, options.rounded).plan);
  if (targets.empty()) return report;
  // The reference is the float model before any correction: mean(q - r) = mean(q) - mean(r).
  const std::vector<ChannelSums> reference = channel_sums(fp32, targets, samples, exec);
  const size_t step = static_cast<size_t>(std::max(1, options.layers_per_step));
  for (size_t first = 0; first < targets.size(); first += step) {
    // Targets are in topological order: this group is measured with every earlier one corrected.
    const std::vector<Target> group(targets.begin() + static_cast<std::ptrdiff_t>(first),
                                    targets.begin() + static_cast<std::ptrdiff_t>(std::min(targets.size(), first + step)));
    const std::vector<ChannelSums> quantized = channel_sums(quantize_static(fp32, ranges, plan, options.rounded).model, group, samples, exec);
    for (size_t i = 0; i < group.size(); ++i) {
      const ChannelSums& want = reference[first + i];
      const ChannelSums& got = quantized[i];
      if (want.values_per_channel == 0 || got.values_per_channel != want.values_per_channel) continue;
      onnx::TensorProto* proto = find_initializer(fp32, group[i].bias);
      Tensor bias = tensor_from_proto(*proto);
      auto b = bias.as<float>();
      for (size_t c = 0; c < b.size(); ++c) {
        // Behind an activation the output moves with the bias only where it is not clipped: one Newton
        // step, with the active share floored so that a nearly dead channel is not pushed far.
        const double shift = (got.mean(c) - want.mean(c)) / std::max(kMinActiveShare, got.active_share(c));
        if (want.rms(c) > 0 && std::fabs(shift) / want.rms(c) > report.largest_shift) {
          report.largest_shift = std::fabs(shift) / want.rms(c);
          report.largest_shift_node = group[i].node;
        }
        b[c] = static_cast<float>(b[c] - shift);
      }
      tensor_to_proto(bias, group[i].bias, *proto);
      ++report.corrected_nodes;
    }
    ++report.steps;
  }
  return report;
}

}  // namespace onnxquant
