// GPTQ rounding on the static INT8 path (pipeline/static_weight_rounding.h) and the pass that writes the
// pre-rounded weights (rewrite/use_rounded_weights.h): the integers stay on the plan's own grid (same
// scales as round-to-nearest, so the same kernels), they lower the layer's output error on the
// calibration inputs, and a value rounded for other scales is never used.
#include <gtest/gtest.h>

#include <cmath>

#include "exec/optimized_graph.h"
#include "ir/tensor_proto.h"
#include "pipeline/quantize_job.h"
#include "pipeline/static_weight_rounding.h"
#include "rewrite/use_rounded_weights.h"
#include "support/graph_builder.h"
#include "support/static_quant_helpers.h"

using namespace onnxquant;
using namespace onnxquant::test;

namespace {

constexpr int64_t kIn = 16, kOut = 8, kSide = 6;

// x -> Conv 1x1 (W, B) -> Relu -> Conv 1x1 (W2) -> y. The input channels are strongly correlated (every
// channel is a shared signal plus a little of its own), which is where compensating rounding errors
// across input channels pays.
struct Built {
  Model model;
  std::vector<NamedTensors> samples;
};

Built two_convs() {
  GraphBuilder b(13);
  b.input("x", DType::Float32, {1, kIn, kSide, kSide});
  b.output("y", DType::Float32, {1, 4, kSide, kSide});
  b.initializer("W", random_float_tensor({kOut, kIn, 1, 1}, 7));
  b.initializer("B", random_float_tensor({kOut}, 8, -0.1f, 0.1f));
  b.initializer("W2", random_float_tensor({4, kOut, 1, 1}, 9));
  b.node("Conv", {"x", "W", "B"}, {"c1"}, "conv1");
  b.node("Relu", {"c1"}, {"r1"}, "relu1");
  b.node("Conv", {"r1", "W2"}, {"y"}, "conv2");
  Built out{b.build(), {}};
  for (int s = 0; s < 12; ++s) {
    const Tensor shared = random_float_tensor({1, 1, kSide, kSide}, 200 + s);
    const Tensor own = random_float_tensor({1, kIn, kSide, kSide}, 300 + s, -0.05f, 0.05f);
    Tensor x(DType::Float32, {1, kIn, kSide, kSide});
    for (int64_t c = 0; c < kIn; ++c)
      for (int64_t p = 0; p < kSide * kSide; ++p)
        x.as<float>()[c * kSide * kSide + p] = shared.as<float>()[p] * (c % 2 ? 1.f : -0.8f) + own.as<float>()[c * kSide * kSide + p];
    out.samples.push_back({{"x", x}});
  }
  return out;
}

// sum over samples and pixels of ||W x - Q x||^2 for conv1 (1x1, so each pixel is one input row).
double output_error(const std::vector<NamedTensors>& samples, const Tensor& w, const std::vector<float>& q) {
  double e = 0;
  for (const auto& s : samples) {
    const auto x = s.at("x").as<float>();
    for (int64_t p = 0; p < kSide * kSide; ++p)
      for (int64_t o = 0; o < kOut; ++o) {
        double d = 0;
        for (int64_t c = 0; c < kIn; ++c) d += (w.as<float>()[o * kIn + c] - q[o * kIn + c]) * x[c * kSide * kSide + p];
        e += d * d;
      }
  }
  return e;
}

const TensorDecision& weight_decision(const QuantPlan& plan, const std::string& tensor) {
  for (const auto& d : plan.tensors)
    if (d.role == TensorRole::Weight && d.tensor == tensor) return d;
  throw std::runtime_error("no weight decision for " + tensor);
}

}  // namespace

TEST(StaticWeightRounding, GptqStaysOnThePlanGridAndLowersTheLayerOutputError) {
  const Built m = two_convs();
  const auto ranges = minmax_ranges(m.model, m.samples);
  const StaticQuantization rtn = quantize_static(m.model, ranges, kVnni);
  StaticRoundingReport report;
  const RoundedWeights rounded = round_static_weights(m.model, rtn.plan, m.samples, {}, report);
  EXPECT_EQ(report.weights, 1);  // conv2 reads the graph output's producer: float, nothing to round
  EXPECT_EQ(report.samples, 12);
  ASSERT_EQ(rounded.count("W"), 1u);
  const RoundedWeight& r = rounded.at("W");
  const TensorDecision& d = weight_decision(rtn.plan, "W");
  EXPECT_EQ(r.scales, d.scales);
  EXPECT_EQ(r.consumer_output, "c1");

  const Tensor w = initializer(m.model, "W");
  std::vector<float> nearest(static_cast<size_t>(w.elements()));
  int differ = 0;
  for (int64_t i = 0; i < w.elements(); ++i) {
    const double s = d.scales[static_cast<size_t>(i / kIn)];
    nearest[i] = static_cast<float>(std::nearbyint(w.as<float>()[i] / s) * s);
    const double k = r.values.as<float>()[i] / s;
    EXPECT_NEAR(k, std::nearbyint(k), 1e-4) << "element " << i << " is not on the grid";
    EXPECT_LE(std::fabs(std::nearbyint(k)), 127.0);
    differ += std::nearbyint(k) != std::nearbyint(w.as<float>()[i] / s);
  }
  EXPECT_GT(differ, 0);
  const double e_rtn = output_error(m.samples, w, nearest);
  const std::vector<float> chosen(r.values.as<float>().begin(), r.values.as<float>().end());
  const double e_gptq = output_error(m.samples, w, chosen);
  EXPECT_LT(e_gptq, 0.7 * e_rtn) << "GPTQ " << e_gptq << " vs nearest " << e_rtn;

  // Through the rewrite: same scales as round-to-nearest, the chosen integers, and ORT runs it.
  const StaticQuantization q = quantize_static(m.model, ranges, kVnni, &rounded);
  EXPECT_EQ(weight_decision(q.plan, "W").scales, d.scales);
  const Tensor wq = initializer(q.model, "W_quantized");
  for (int64_t i = 0; i < w.elements(); ++i)
    EXPECT_EQ(wq.as<int8_t>()[i], static_cast<int8_t>(std::nearbyint(r.values.as<float>()[i] / d.scales[static_cast<size_t>(i / kIn)]))) << i;
  EXPECT_EQ(count_ops(optimized_graph(q.model), "QLinearConv"), count_ops(optimized_graph(rtn.model), "QLinearConv"));
  EXPECT_GT(cosine_vs_fp32(m.model, q.model, m.samples), 0.99);
}

TEST(UseRoundedWeights, ValuesMadeForOtherScalesAreRoundedToNearest) {
  const Built m = two_convs();
  const auto ranges = minmax_ranges(m.model, m.samples);
  const StaticQuantization rtn = quantize_static(m.model, ranges, kVnni);
  const TensorDecision& d = weight_decision(rtn.plan, "W");
  // All-ones integers on the plan's grid, once for the right scales and once for scales twice as large.
  Tensor ones(DType::Float32, {kOut, kIn, 1, 1});
  for (int64_t i = 0; i < ones.elements(); ++i) ones.as<float>()[i] = static_cast<float>(d.scales[static_cast<size_t>(i / kIn)]);
  RoundedWeights good{{"W", RoundedWeight{"c1", d.scales, d.qmin, d.qmax, ones}}};
  const StaticQuantization used = quantize_static(m.model, ranges, kVnni, &good);
  const Tensor used_q = initializer(used.model, "W_quantized");
  for (int8_t v : used_q.as<int8_t>()) EXPECT_EQ(v, 1);

  std::vector<double> doubled = d.scales;
  for (double& s : doubled) s *= 2;
  RoundedWeights stale{{"W", RoundedWeight{"c1", doubled, d.qmin, d.qmax, ones}}};
  const StaticQuantization q = quantize_static(m.model, ranges, kVnni, &stale);
  EXPECT_EQ(initializer(q.model, "W_quantized").as<int8_t>()[0], initializer(rtn.model, "W_quantized").as<int8_t>()[0]);
  Model copy = m.model.clone();
  const PassReport p = UseRoundedWeights(rtn.plan, stale).run(copy);
  EXPECT_EQ(p.changes, 0);
  // Made for another consumer: not used either.
  RoundedWeights other{{"W", RoundedWeight{"r1", d.scales, d.qmin, d.qmax, ones}}};
  EXPECT_EQ(UseRoundedWeights(rtn.plan, other).run(copy).changes, 0);
}

TEST(StaticWeightRounding, ReduceRangeGridIsLeftToNearest) {
  const Built m = two_convs();
  const auto ranges = minmax_ranges(m.model, m.samples);
  StaticPlanOptions avx2 = for_cpu(CpuTarget::Avx2);
  avx2.reduce_range = ReduceRange::On;
  StaticRoundingReport report;
  const RoundedWeights r = round_static_weights(m.model, quantize_static(m.model, ranges, avx2).plan, m.samples, {}, report);
  EXPECT_TRUE(r.empty());
  ASSERT_EQ(report.skipped.size(), 1u);
  EXPECT_NE(report.skipped[0].find("[-64, 63]"), std::string::npos) << report.skipped[0];
}
