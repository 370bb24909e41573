// The two passes static INT8 runs before planning so that more of a model fits ORT's integer kernels:
// rewrite/div_by_constant_to_mul.h and rewrite/hard_sigmoid_to_clip.h. Each: the graph after the pass,
// and that ORT gives the same outputs before and after.
#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cmath>

#include "exec/executor.h"
#include "rewrite/div_by_constant_to_mul.h"
#include "rewrite/hard_sigmoid_to_clip.h"
#include "support/graph_builder.h"
#include "support/static_quant_helpers.h"

using namespace onnxquant;
using namespace onnxquant::test;

namespace {

float max_abs_difference(const Model& a, const Model& b, const NamedTensors& in) {
  Executor ea(a), eb(b);
  const auto x = ea.run(in), y = eb.run(in);
  float worst = 0;
  for (const auto& [name, t] : x)
    for (size_t i = 0; i < t.as<float>().size(); ++i) worst = std::max(worst, std::fabs(t.as<float>()[i] - y.at(name).as<float>()[i]));
  return worst;
}

}  // namespace

TEST(Int8PreparePasses, DivByConstantBecomesMulByReciprocal) {
  GraphBuilder b(13);
  b.input("x", DType::Float32, {2, 8});
  b.output("y", DType::Float32);
  b.output("z", DType::Float32);
  b.initializer("six", make_float_tensor({}, {6.f}));
  b.initializer("zeros", make_float_tensor({8}, {1, 2, 0, 4, 5, 6, 7, 8}));
  b.node("Div", {"x", "six"}, {"y"}, "by_six");
  b.node("Div", {"x", "zeros"}, {"z"}, "by_vector_with_zero");  // a zero divisor: left alone
  const Model before = b.build();
  Model after = before.clone();
  const PassReport r = DivByConstantToMul().run(after);
  EXPECT_EQ(r.changes, 1);
  const auto& g = after.proto().graph();
  EXPECT_EQ(g.node(0).op_type(), "Mul");
  EXPECT_EQ(g.node(0).name(), "by_six");
  EXPECT_EQ(initializer(after, g.node(0).input(1)).as<float>()[0], static_cast<float>(1.0 / 6.0));
  EXPECT_EQ(g.node(1).op_type(), "Div");
  EXPECT_NO_THROW(onnx::checker::check_model(after.proto()));
  const NamedTensors in{{"x", random_float_tensor({2, 8}, 7, -10.f, 10.f)}};
  Executor ea(before), eb(after);
  const auto x = ea.run(in), y = eb.run(in);
  for (size_t i = 0; i < 16; ++i) EXPECT_NEAR(x.at("y").as<float>()[i], y.at("y").as<float>()[i], 2e-6f);
}

TEST(Int8PreparePasses, HardSigmoidBehindConvBecomesClip) {
  GraphBuilder b(13);
  b.input("x", DType::Float32, {1, 4, 6, 6});
  b.output("y", DType::Float32);
  b.output("y2", DType::Float32);
  b.initializer("W", random_float_tensor({4, 4, 3, 3}, 1));
  b.initializer("B", random_float_tensor({4}, 2));
  b.node("Conv", {"x", "W", "B"}, {"c"}, "conv");
  auto& hs = b.node("HardSigmoid", {"c"}, {"y"}, "gate");
  GraphBuilder::attr_float(hs, "alpha", 1.f / 6);
  GraphBuilder::attr_float(hs, "beta", 0.5f);
  b.node("Conv", {"x", "W"}, {"c2"}, "conv_shared_w");  // W has another reader: it must stay unchanged
  b.node("HardSigmoid", {"x"}, {"y2"}, "not_behind_conv");
  const Model before = b.build();
  Model after = before.clone();
  const PassReport r = HardSigmoidToClip().run(after);
  EXPECT_EQ(r.changes, 1);
  const auto& g = after.proto().graph();
  EXPECT_EQ(g.node(1).op_type(), "Clip");
  EXPECT_EQ(g.node(1).output(0), "y");
  EXPECT_NE(g.node(0).output(0), "c");  // the scaled Conv output is a new tensor
  EXPECT_EQ(g.node(2).input(1), "W");
  EXPECT_EQ(g.node(3).op_type(), "HardSigmoid");
  EXPECT_NO_THROW(onnx::checker::check_model(after.proto()));
  EXPECT_LT(max_abs_difference(before, after, {{"x", random_float_tensor({1, 4, 6, 6}, 3, -2.f, 2.f)}}), 1e-5f);
}
