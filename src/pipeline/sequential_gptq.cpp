#include "pipeline/sequential_gptq.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <span>

#include "core/errors.h"
#include "core/progress.h"
#include "ir/graph.h"
#include "ir/model.h"
#include "ir/tensor_proto.h"
#include "quant/gptq_target.h"
#include "rewrite/quantize_weights_only.h"

namespace onnxquant {

namespace {

onnx::TensorProto* find_initializer(Model& m, const std::string& name) {
  for (auto& t : *m.proto().mutable_graph()->mutable_initializer())
    if (t.name() == name) return &t;
  return nullptr;
}

// Consecutive stages of near-equal size (`stages` 0 or above the count: one key each).
std::vector<std::vector<std::string>> cut_stages(const std::vector<std::string>& keys, int64_t stages) {
  const auto n = static_cast<int64_t>(keys.size());
  if (stages <= 0 || stages > n) stages = n;
  std::vector<std::vector<std::string>> out(static_cast<size_t>(stages));
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i * stages / n)].push_back(keys[i]);
  return out;
}

// The float bias initializer of the node computing `output` when that node alone reads it.
onnx::TensorProto* own_bias(Model& m, const Graph& g, const std::string& output) {
  for (int i = 0; i < g.node_count(); ++i) {
    const auto& n = g.node(i);
    if (n.output_size() == 0 || n.output(0) != output) continue;
    if ((n.op_type() != "Conv" && n.op_type() != "Gemm") || n.input_size() < 3 || n.input(2).empty()) return nullptr;
    if (g.consumers(n.input(2)).size() + g.subgraph_consumers(n.input(2)).size() != 1) return nullptr;
    onnx::TensorProto* b = find_initializer(m, n.input(2));
    return b && b->data_type() == onnx::TensorProto::FLOAT ? b : nullptr;
  }
  return nullptr;
}

// Empirical bias correction (Nagel et al. 2019) folded into the same statistics: the mean output error
// of the layer, mean(x_q) . q - mean(x) . w per output channel over the calibration rows, is taken off
// its float bias. GPTQ minimises the error's energy; its mean per channel, a shift every later layer
// sees, is left over, and the bias (float in a weight-only model) removes it for free.
void correct_bias(const LayerStatistics& ls, std::span<const float> w, const std::vector<float>& q, std::span<float> bias) {
  for (size_t v = 0; v < ls.views.size(); ++v) {
    const MatrixView& view = ls.views[v];
    const std::vector<double>& sq = ls.row_sums[v];
    const std::vector<double>& sr = ls.reference_row_sums.empty() ? sq : ls.reference_row_sums[v];  // first stage: same inputs
    const auto n = static_cast<double>(ls.hessians[v].rows());
    if (n <= 0) continue;
    for (int64_t r = 0; r < view.rows; ++r) {
      const int64_t channel = static_cast<int64_t>(v) * view.rows + r;
      if (channel >= static_cast<int64_t>(bias.size())) continue;
      double shift = 0.0;
      for (int64_t c = 0; c < view.cols; ++c) {
        const int64_t at = view.index[r * view.cols + c];
        shift += sq[c] * q[at] - sr[c] * w[at];
      }
      bias[channel] -= static_cast<float>(shift / n);
    }
  }
}

}  // namespace

SequentialGptq sequential_gptq(const Model& fp32, const WeightOnlyPlan& plan, const std::vector<NamedTensors>& samples, const HessianOptions& options) {
  SequentialGptq out;
  GptqLayers layers = gptq_layers(fp32, plan);
  out.unsupported = std::move(layers.unsupported);
  if (samples.empty() || layers.keys.empty()) return out;

  std::map<std::string, const WeightDecision*> decision;  // by key
  std::map<std::string, int> keys_of_tensor, consumers_of_key;
  for (const auto& d : plan.weights) {
    if (!d.quantized) continue;
    ++consumers_of_key[weight_key(d)];
    if (decision.emplace(weight_key(d), &d).second) ++keys_of_tensor[d.tensor];
  }
  HessianOptions stage_options = options;
  stage_options.progress = ProgressMode::Off;
  const auto stages = cut_stages(layers.keys, options.stages);
  Model current = fp32.clone();  // the model as quantized so far, in float
  Progress progress("GPTQ", static_cast<int64_t>(stages.size()), options.progress);
  for (size_t s = 0; s < stages.size(); ++s) {
    // The first stage sees the FP32 model itself: its inputs have no error yet and its target is the weight.
    const Model* reference = s == 0 ? nullptr : &fp32;
    LayerHessians stats = collect_layer_hessians(current, plan, samples, stage_options, stages[s], reference);
    out.rounds += stats.rounds;
    for (const auto& key : stages[s]) {
      const WeightDecision& d = *decision.at(key);
      const LayerStatistics& ls = stats.by_key.at(key);
      const onnx::TensorProto* init = nullptr;
      for (const auto& t : fp32.proto().graph().initializer())
        if (t.name() == d.tensor) init = &t;
      if (!init) throw InternalError("weight plan names '" + d.tensor + "', which is not an initializer");
      const Tensor w = tensor_from_proto(*init);
      Tensor target = w;
      if (!ls.cross.empty()) {
        CompensationChoice choice;
        const std::vector<float> t = compensated_weight(w.as<float>(), ls.views, {ls.hessians, ls.cross}, {ls.hessians_half, ls.cross_half},
                                                        default_compensation_dampings(), choice);
        std::copy(t.begin(), t.end(), target.as<float>().begin());
        out.compensated += choice.compensated;
      }
      QuantizedWeight q = quantize_rtn(target, d.grid);
      const GptqStats g = gptq_quantize(target.as<float>(), ls.views, ls.hessians, q);
      out.stats.columns += g.columns;
      out.stats.dead_columns += g.dead_columns;
      out.stats.rtn_fallback_blocks += g.rtn_fallback_blocks;
      out.stats.units += g.units;
      out.stats.rescaled_units += g.rescaled_units;
      ++out.weights;
      const std::vector<float> deq = q.dequantized();
      // Later stages compute with what the quantized model will hold. A tensor quantized in two ways
      // (two decisions with other grids) keeps its float values: no single value is right for both.
      if (keys_of_tensor.at(d.tensor) == 1) {
        Tensor t(DType::Float32, q.shape);
        std::copy(deq.begin(), deq.end(), t.as<float>().begin());
        tensor_to_proto(t, d.tensor, *find_initializer(current, d.tensor));
      }
      // A weight shared by several layers has one set of statistics for all of them: no one bias fits.
      if (options.correct_biases && consumers_of_key.at(key) == 1)
        if (onnx::TensorProto* b = own_bias(current, Graph(current.proto().graph()), d.consumer_output)) {
          Tensor bias = tensor_from_proto(*b);
          correct_bias(ls, w.as<float>(), deq, bias.as<float>());
          const std::string name = b->name();  // tensor_to_proto rewrites the proto, name included
          tensor_to_proto(bias, name, *b);     // later stages see the corrected bias too
          out.biases[name] = std::move(bias);
        }
      out.values.emplace(key, std::move(q));
    }
    ++out.stages;
    progress.advance();
  }
  progress.finish();
  return out;
}

}  // namespace onnxquant
