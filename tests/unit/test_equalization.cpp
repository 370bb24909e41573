// Cross-layer equalization (rewrite/equalize_cross_layer.h): the float model computes the same outputs
// before and after, the per-channel weight ranges of each pair end equal, and pairs joined by an op that
// does not commute with scaling (Clip) are left alone.
#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>

#include "exec/executor.h"
#include "ir/graph.h"
#include "ir/tensor_proto.h"
#include "rewrite/equalize_cross_layer.h"
#include "support/graph_builder.h"

using namespace onnxquant;
using onnxquant::test::GraphBuilder;
using onnxquant::test::random_float_tensor;

namespace {

// Weight [C, ...] with output channel c multiplied by factors[c]: the unbalanced ranges CLE fixes.
Tensor unbalanced(const Shape& shape, uint32_t seed, const std::vector<float>& factors) {
  Tensor t = random_float_tensor(shape, seed);
  const int64_t inner = t.elements() / shape[0];
  auto v = t.as<float>();
  for (int64_t c = 0; c < shape[0]; ++c)
    for (int64_t k = 0; k < inner; ++k) v[c * inner + k] *= factors[static_cast<size_t>(c)];
  return t;
}

// x[1,3,8,8] -> Conv A (4 ch, 3x3, bias) -> `link` -> depthwise Conv B (bias) -> Conv C (1x1, 5 ch) -> y.
// `link` is "Relu" or "Clip" (0..6).
Model conv_chain(const std::string& link) {
  GraphBuilder b;
  b.input("x", DType::Float32, {1, 3, 8, 8}).output("y", DType::Float32, {1, 5, 8, 8});
  b.initializer("wa", unbalanced({4, 3, 3, 3}, 1, {0.01f, 1.f, 20.f, 0.3f}));
  b.initializer("ba", random_float_tensor({4}, 2));
  b.initializer("wb", unbalanced({4, 1, 3, 3}, 3, {5.f, 0.02f, 1.f, 40.f}));
  b.initializer("bb", random_float_tensor({4}, 4));
  b.initializer("wc", random_float_tensor({5, 4, 1, 1}, 5));
  auto& a = b.node("Conv", {"x", "wa", "ba"}, {"a"}, "A");
  GraphBuilder::attr_ints(a, "pads", {1, 1, 1, 1});
  if (link == "Clip") {
    b.initializer("lo", {0.f}, {});
    b.initializer("hi", {6.f}, {});
    b.node("Clip", {"a", "lo", "hi"}, {"r"}, "act");
  } else {
    b.node("Relu", {"a"}, {"r"}, "act");
  }
  auto& dw = b.node("Conv", {"r", "wb", "bb"}, {"d"}, "B");
  GraphBuilder::attr_int(dw, "group", 4);
  GraphBuilder::attr_ints(dw, "pads", {1, 1, 1, 1});
  b.node("Conv", {"d", "wc"}, {"y"}, "C");
  return b.build();
}

Tensor weight(const Model& m, const std::string& name) { return tensor_from_proto(*Graph(m.proto().graph()).initializer(name)); }

double channel_max(const Tensor& w, int64_t c) {
  const int64_t inner = w.elements() / w.shape[0];
  double m = 0;
  for (int64_t k = 0; k < inner; ++k) m = std::max(m, std::fabs(static_cast<double>(w.as<float>()[c * inner + k])));
  return m;
}

// Max |w| over the weights of a dense (group 1) Conv [O, C, ...] that read input channel c.
double input_channel_max(const Tensor& w, int64_t c) {
  const int64_t kernel = w.elements() / (w.shape[0] * w.shape[1]);
  double m = 0;
  for (int64_t o = 0; o < w.shape[0]; ++o)
    for (int64_t k = 0; k < kernel; ++k)
      m = std::max(m, std::fabs(static_cast<double>(w.as<float>()[(o * w.shape[1] + c) * kernel + k])));
  return m;
}

}  // namespace

TEST(EqualizeCrossLayer, KeepsFloatOutputsAndBalancesRanges) {
  const Model before = conv_chain("Relu");
  Model after = before.clone();
  const PassReport r = EqualizeCrossLayer().run(after);
  EXPECT_EQ(r.changes, 2);  // A -> Relu -> B and B -> C
  onnx::checker::check_model(after.proto());

  NamedTensors in{{"x", random_float_tensor({1, 3, 8, 8}, 7, -2.f, 2.f)}};
  const Tensor want = Executor(before).run(in).at("y");
  const Tensor got = Executor(after).run(in).at("y");
  double peak = 0, worst = 0;
  for (size_t i = 0; i < want.as<float>().size(); ++i) {
    peak = std::max(peak, std::fabs(static_cast<double>(want.as<float>()[i])));
    worst = std::max(worst, std::fabs(static_cast<double>(want.as<float>()[i]) - got.as<float>()[i]));
  }
  EXPECT_LE(worst, 1e-5 * std::max(1.0, peak)) << "peak " << peak;

  // The depthwise B -> C pair is the last of the chain, so each of its channels ends exactly balanced;
  // A -> B settles to within the convergence threshold.
  const Tensor wa = weight(after, "wa"), wb = weight(after, "wb"), wc = weight(after, "wc");
  for (int64_t c = 0; c < 4; ++c) {
    EXPECT_NEAR(channel_max(wb, c) / input_channel_max(wc, c), 1.0, 1e-4) << "channel " << c;
    EXPECT_NEAR(channel_max(wa, c) / channel_max(wb, c), 1.0, 1e-2) << "channel " << c;
  }
  // Before: A's channel ranges spanned 2000x (0.01 .. 20); after, far less.
  double lo = 1e30, hi = 0;
  for (int64_t c = 0; c < 4; ++c) lo = std::min(lo, channel_max(wa, c)), hi = std::max(hi, channel_max(wa, c));
  EXPECT_LT(hi / lo, 200.0);
}

TEST(EqualizeCrossLayer, LeavesPairsThroughClipAlone) {
  const Model before = conv_chain("Clip");
  Model after = before.clone();
  const PassReport r = EqualizeCrossLayer().run(after);
  EXPECT_EQ(r.changes, 1);  // only B -> C
  ASSERT_EQ(r.notes.size(), 2u);
  EXPECT_NE(r.notes[1].find("1 Conv pairs joined by a non-Relu"), std::string::npos) << r.notes[1];
  EXPECT_EQ(weight(after, "wa").bytes, weight(before, "wa").bytes);
  EXPECT_EQ(weight(after, "ba").bytes, weight(before, "ba").bytes);
}

TEST(EqualizeCrossLayer, SkipsSharedWeights) {
  GraphBuilder b;
  b.input("x", DType::Float32, {1, 2, 4, 4}).output("y", DType::Float32, {1, 2, 4, 4}).output("z", DType::Float32, {1, 2, 4, 4});
  b.initializer("w", unbalanced({2, 2, 1, 1}, 1, {0.01f, 10.f}));
  b.node("Conv", {"x", "w"}, {"a"}, "A");
  b.node("Conv", {"a", "w"}, {"y"}, "B");
  b.node("Conv", {"x", "w"}, {"z"}, "Other");
  Model m = b.build();
  EXPECT_FALSE(EqualizeCrossLayer().match(m));
}

// Activation-aware mode: with the link's per-channel ranges a_i given, s_i = sqrt(a_i / r2_i), so the
// link's channel i ends at a_i / s_i and B's weights reading it at r2_i * s_i: both sqrt(a_i * r2_i).
TEST(EqualizeCrossLayer, BalancesMeasuredActivationRangesAgainstNextWeights) {
  const Model before = conv_chain("Relu");
  EXPECT_EQ(equalizable_links(before), (std::vector<std::string>{"r", "d"}));
  EqualizeOptions o;
  o.link_ranges["d"] = {0.5, 2.0, 8.0, 100.0};
  Model after = before.clone();
  const PassReport r = EqualizeCrossLayer(o).run(after);
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes[0].find("1 by their measured activation ranges"), std::string::npos) << r.notes[0];
  const Tensor wc_before = weight(before, "wc"), wc_after = weight(after, "wc");
  for (int64_t c = 0; c < 4; ++c) {
    const double a = o.link_ranges["d"][static_cast<size_t>(c)], r2 = input_channel_max(wc_before, c);
    EXPECT_NEAR(input_channel_max(wc_after, c), std::sqrt(a * r2), 1e-5 * std::sqrt(a * r2)) << "channel " << c;
  }
  NamedTensors in{{"x", random_float_tensor({1, 3, 8, 8}, 7, -2.f, 2.f)}};
  const Tensor want = Executor(before).run(in).at("y"), got = Executor(after).run(in).at("y");
  for (size_t i = 0; i < want.as<float>().size(); ++i) EXPECT_NEAR(got.as<float>()[i], want.as<float>()[i], 1e-4 * (1 + std::fabs(want.as<float>()[i])));
}
