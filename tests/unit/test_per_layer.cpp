// Per-layer error on small graphs: identical models compare exact, a damaged weight is found in its own
// layer (not in the layers after it, whose accumulated error is as large), and a QDQ candidate is probed
// through its QuantizeLinear outputs.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>

#include "analysis/per_layer.h"
#include "support/graph_builder.h"

using namespace onnxquant;
using onnxquant::test::GraphBuilder;

namespace {

// x[1,2,6,6] -> Conv c1 (bias) -> Relu r1 -> Conv c2 -> Relu r2 -> Conv c3 -> GlobalAveragePool g -> Flatten y
// `scale` multiplies the weight of conv `damaged` (1-based; 0 = none).
Model small_cnn(int damaged = 0, float scale = 1.5f) {
  GraphBuilder b;
  b.input("x", DType::Float32, {1, 2, 6, 6}).output("y", DType::Float32, {1, 4});
  const std::vector<Shape> shapes{{4, 2, 3, 3}, {4, 4, 3, 3}, {4, 4, 1, 1}};
  for (int i = 0; i < 3; ++i) {
    Tensor w = test::random_float_tensor(shapes[static_cast<size_t>(i)], static_cast<uint32_t>(i + 1));
    if (damaged == i + 1)
      for (float& v : w.as<float>()) v *= scale;
    b.initializer("w" + std::to_string(i + 1), w);
  }
  b.initializer("b1", test::random_float_tensor({4}, 9, 0.f, .2f));
  GraphBuilder::attr_ints(b.node("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1"), "pads", {1, 1, 1, 1});
  b.node("Relu", {"c1"}, {"r1"}, "relu1");
  GraphBuilder::attr_ints(b.node("Conv", {"r1", "w2"}, {"c2"}, "conv2"), "pads", {1, 1, 1, 1});
  b.node("Relu", {"c2"}, {"r2"}, "relu2");
  b.node("Conv", {"r2", "w3"}, {"c3"}, "conv3");
  b.node("GlobalAveragePool", {"c3"}, {"g"}, "gap");
  b.node("Flatten", {"g"}, {"y"}, "flatten");
  return b.build();
}

std::vector<LayerError> compare(const Model& a, const Model& b, int samples = 3) {
  PerLayerComparison cmp(a, b, {});
  for (int i = 0; i < samples; ++i) {
    const NamedTensors in{{"x", test::random_float_tensor({1, 2, 6, 6}, 100 + static_cast<uint32_t>(i))}};
    cmp.add(in, in);
  }
  return cmp.result();
}

Tensor scalar(DType type, double v) {
  Tensor t(type, {});
  if (type == DType::Float32) t.as<float>()[0] = static_cast<float>(v);
  else t.as<uint8_t>()[0] = static_cast<uint8_t>(v);
  return t;
}

}  // namespace

TEST(PerLayer, ModelAgainstItselfIsExact) {
  const auto layers = compare(small_cnn(), small_cnn());
  ASSERT_EQ(layers.size(), 6u);  // c1 r1 c2 r2 c3 g (y is a graph output)
  for (const auto& l : layers) {
    EXPECT_EQ(l.stats.max_abs_error, 0.0) << l.tensor;
    EXPECT_NEAR(l.stats.cosine, 1.0, 1e-12) << l.tensor;
    EXPECT_TRUE(std::isinf(l.stats.sqnr_db) && l.stats.sqnr_db > 0) << l.tensor;
    EXPECT_TRUE(std::isinf(l.local_sqnr_db) && l.local_sqnr_db > 0) << l.tensor;
    EXPECT_EQ(l.probe, LayerProbe::Direct);
  }
  // With no error anywhere, the ranking falls back to graph order.
  EXPECT_EQ(layers.front().tensor, "c1");
  EXPECT_EQ(layers.back().tensor, "g");
}

TEST(PerLayer, DamagedWeightIsFoundInItsOwnLayer) {
  for (int damaged : {1, 2, 3}) {
    SCOPED_TRACE(damaged);
    const auto layers = compare(small_cnn(), small_cnn(damaged));
    ASSERT_FALSE(layers.empty());
    EXPECT_EQ(layers.front().tensor, "c" + std::to_string(damaged));
    EXPECT_EQ(layers.front().op_type, "Conv");
    EXPECT_EQ(layers.front().node, "conv" + std::to_string(damaged));
    EXPECT_LT(layers.front().local_sqnr_db, 15.0);
    // Layers before the damage are exact.
    for (const auto& l : layers) {
      if (l.position < layers.front().position) {
        EXPECT_EQ(l.stats.max_abs_error, 0.0) << l.tensor;
      }
    }
  }
}

TEST(PerLayer, QdqCandidateIsProbedThroughItsQuantizeLinear) {
  // Reference: x -> Conv -> c -> Sigmoid -> y. Candidate: the same with Q/DQ around the Conv; names kept.
  const Tensor w = test::random_float_tensor({4, 2, 3, 3}, 5);
  GraphBuilder ref;
  ref.input("x", DType::Float32, {1, 2, 6, 6}).output("y", DType::Float32, {1, 4, 4, 4}).initializer("w", w);
  ref.node("Conv", {"x", "w"}, {"c"}, "conv");
  ref.node("Sigmoid", {"c"}, {"y"}, "sigmoid");
  GraphBuilder q;
  q.input("x", DType::Float32, {1, 2, 6, 6}).output("y", DType::Float32, {1, 4, 4, 4}).initializer("w", w);
  q.initializer("s", scalar(DType::Float32, 0.05)).initializer("zp", scalar(DType::UInt8, 128));
  q.node("QuantizeLinear", {"x", "s", "zp"}, {"x_q"}, "q_x");
  q.node("DequantizeLinear", {"x_q", "s", "zp"}, {"x_dq"}, "dq_x");
  q.node("Conv", {"x_dq", "w"}, {"c"}, "conv");
  q.node("QuantizeLinear", {"c", "s", "zp"}, {"c_q"}, "q_c");
  q.node("DequantizeLinear", {"c_q", "s", "zp"}, {"c_dq"}, "dq_c");
  q.node("Sigmoid", {"c_dq"}, {"y"}, "sigmoid");
  const auto layers = compare(ref.build(), q.build());
  ASSERT_EQ(layers.size(), 1u);
  EXPECT_EQ(layers[0].tensor, "c");
  EXPECT_EQ(layers[0].probe, LayerProbe::Quantized);
  EXPECT_GT(layers[0].stats.cosine, 0.99);
  EXPECT_LT(layers[0].stats.sqnr_db, 60.0);  // quantization error is visible
  EXPECT_GT(layers[0].stats.max_abs_error, 0.0);
}

TEST(PerLayer, RankingOrder) {
  auto layer = [](const std::string& name, int pos, double local, double sqnr) {
    LayerError e;
    e.tensor = name;
    e.position = pos;
    e.local_sqnr_db = local;
    e.stats.sqnr_db = sqnr;
    return e;
  };
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<LayerError> v{layer("late", 5, inf, 10), layer("bad", 3, 12, 12), layer("worse", 4, 8, 11), layer("early", 1, inf, 30),
                            layer("exact", 0, inf, inf)};
  rank_layers(v);
  std::vector<std::string> names;
  for (const auto& l : v) names.push_back(l.tensor);
  EXPECT_EQ(names, (std::vector<std::string>{"worse", "bad", "late", "early", "exact"}));
}
