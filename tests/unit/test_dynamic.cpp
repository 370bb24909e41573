// Dynamic INT8 (quant/dynamic_planner.h, rewrite/dynamic_quant.h) on graphs built here: which MatMul /
// Gemm nodes are quantized and why, that a weight shared by two Gemms (transB=1) gets one transposed
// int8 copy and stays right for both, that ORT 1.30 fuses every quantized node into
// DynamicQuantizeMatMul, and that results agree with FP32.
#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include "analysis/compare.h"
#include "analysis/fusion_report.h"
#include "exec/executor.h"
#include "ir/graph.h"
#include "pipeline/dynamic_job.h"
#include "support/graph_builder.h"

using namespace onnxquant;
using onnxquant::test::GraphBuilder;
using onnxquant::test::random_float_tensor;

namespace {

// x[4,64] -> Gemm(W, transB=1, B) -> Relu -> Gemm(W, transB=1, B) -> MatMul(V) -> MatMul(x_act) -> y
Model shared_gemm_model() {
  GraphBuilder b(13);
  b.input("x", DType::Float32, {4, 64});
  b.output("y", DType::Float32, {4, 4});
  b.initializer("W", random_float_tensor({64, 64}, 1, -0.2f, 0.2f));
  b.initializer("B", random_float_tensor({64}, 2));
  b.initializer("V", random_float_tensor({64, 32}, 3, -0.2f, 0.2f));
  auto& g1 = b.node("Gemm", {"x", "W", "B"}, {"h1"}, "gemm1");
  GraphBuilder::attr_int(g1, "transB", 1);
  b.node("Relu", {"h1"}, {"r1"}, "relu");
  auto& g2 = b.node("Gemm", {"r1", "W", "B"}, {"h2"}, "gemm2");
  GraphBuilder::attr_int(g2, "transB", 1);
  GraphBuilder::attr_float(g2, "alpha", 0.5f);
  b.node("MatMul", {"h2", "V"}, {"v"}, "mm");
  b.node("Transpose", {"v"}, {"vt"}, "t");
  b.node("MatMul", {"v", "vt"}, {"y"}, "act_x_act");
  return b.build();
}

}  // namespace

TEST(DynamicQuant, PlansWeightMatMulsOnly) {
  const DynamicPlan p = plan_dynamic(shared_gemm_model(), {});
  ASSERT_EQ(p.nodes.size(), 4u);
  EXPECT_TRUE(p.nodes[0].quantized);
  EXPECT_TRUE(p.nodes[0].transpose_weight);
  EXPECT_TRUE(p.nodes[2].quantized);
  EXPECT_FALSE(p.nodes[2].transpose_weight);
  EXPECT_FALSE(p.nodes[3].quantized);
  EXPECT_EQ(p.nodes[3].reason, "fp32: input 'vt' is not a constant weight (activation x activation stays float)");
}

TEST(DynamicQuant, SharedTransposedWeightFusesAndAgreesWithFp32) {
  const Model fp32 = shared_gemm_model();
  DynamicQuantization q = quantize_dynamic(fp32);
  EXPECT_EQ(q.plan.quantized_count(), 3);
  EXPECT_NO_THROW(onnx::checker::check_model(q.model.proto()));
  const Graph g(q.model.proto().graph());
  EXPECT_EQ(g.initializer("W"), nullptr);  // float copy dropped: nothing reads it
  // One int8 copy of W (same layout for both Gemms, alpha differs: two copies), one of V.
  int int8_weights = 0;
  for (const auto& t : q.model.proto().graph().initializer()) int8_weights += t.data_type() == onnx::TensorProto::INT8 && t.dims_size() == 2;
  EXPECT_EQ(int8_weights, 3);
  const FusionReport f = fusion_report(q.model);
  int64_t fused = 0;
  for (const auto& [op, n] : f.integer_kernels)
    if (op.find("DynamicQuantizeMatMul") != std::string::npos) fused += n;
  EXPECT_EQ(fused, 3);
  Executor a(fp32), b(q.model);
  CompareAccumulator acc;
  for (uint32_t seed = 0; seed < 4; ++seed) {
    const NamedTensors in{{"x", random_float_tensor({4, 64}, 50 + seed)}};
    acc.add(a.run(in).at("y"), b.run(in).at("y"));
  }
  EXPECT_GT(acc.stats().cosine, 0.999);
}

TEST(DynamicQuant, ExcludeKeepsNodeFloatWithReason) {
  DynamicOptions o;
  o.exclude = {"mm"};
  const DynamicPlan p = plan_dynamic(shared_gemm_model(), o);
  EXPECT_FALSE(p.nodes[2].quantized);
  EXPECT_EQ(p.nodes[2].reason, "fp32: excluded by --exclude 'mm'");
}

TEST(DynamicQuant, IdentityCopiesOfAWeightAreFoldedSoEveryLayerIsQuantizedOnce) {
  // torch's cloned layers: layer 2 reads Identity(W) instead of W.
  GraphBuilder b(13);
  b.input("x", DType::Float32, {2, 64});
  b.output("y", DType::Float32, {2, 64});
  b.initializer("W", random_float_tensor({64, 64}, 1, -0.2f, 0.2f));
  b.node("Identity", {"W"}, {"W_copy"}, "copy");
  b.node("MatMul", {"x", "W"}, {"h"}, "layer1");
  b.node("MatMul", {"h", "W_copy"}, {"y"}, "layer2");
  const Model fp32 = b.build();
  DynamicQuantization q = quantize_dynamic(fp32);
  EXPECT_EQ(q.plan.quantized_count(), 2);
  int int8_weights = 0, floats = 0;
  for (const auto& t : q.model.proto().graph().initializer()) {
    int8_weights += t.data_type() == onnx::TensorProto::INT8 && t.dims_size() == 2;
    floats += t.data_type() == onnx::TensorProto::FLOAT && t.dims_size() == 2;
  }
  EXPECT_EQ(int8_weights, 1);
  EXPECT_EQ(floats, 0);
  Executor a(fp32), c(q.model);
  const NamedTensors in{{"x", random_float_tensor({2, 64}, 7)}};
  EXPECT_GT(compare_tensors(a.run(in).at("y"), c.run(in).at("y")).cosine, 0.999);
}

TEST(DynamicQuant, WeightAlsoReadInFloatStaysFloat) {
  GraphBuilder b(13);
  b.input("x", DType::Float32, {64, 64});
  b.output("y", DType::Float32, {64, 64});
  b.output("z", DType::Float32, {64, 64});
  b.initializer("W", random_float_tensor({64, 64}, 1));
  b.node("MatMul", {"x", "W"}, {"y"}, "mm");
  b.node("Add", {"x", "W"}, {"z"}, "add");
  const DynamicPlan p = plan_dynamic(b.build(), {});
  EXPECT_FALSE(p.nodes[0].quantized);
  EXPECT_EQ(p.nodes[0].reason, "fp32: weight 'W' is also read in float by Add 'add' (input 1); quantizing would store it twice");
}

TEST(DynamicQuant, PerChannelScalesAreOnePerOutputColumnAndFuse) {
  const Model fp32 = shared_gemm_model();
  DynamicOptions o;
  o.per_channel = true;
  DynamicQuantization q = quantize_dynamic(fp32, o);
  const Graph g(q.model.proto().graph());
  const auto* scale = g.initializer("V_int8_scale");
  ASSERT_NE(scale, nullptr);
  EXPECT_EQ(std::vector<int64_t>(scale->dims().begin(), scale->dims().end()), (std::vector<int64_t>{32}));
  const auto* zp = g.initializer("V_int8_zero_point");
  ASSERT_NE(zp, nullptr);
  EXPECT_EQ(zp->dims_size(), 0);  // symmetric: one scalar zero point
  const FusionReport f = fusion_report(q.model);
  int64_t fused = 0;
  for (const auto& [op, n] : f.integer_kernels)
    if (op.find("DynamicQuantizeMatMul") != std::string::npos) fused += n;
  EXPECT_EQ(fused, 3);
  Executor a(fp32), b(q.model);
  const NamedTensors in{{"x", random_float_tensor({4, 64}, 77)}};
  EXPECT_GT(compare_tensors(a.run(in).at("y"), b.run(in).at("y")).cosine, 0.999);
}
