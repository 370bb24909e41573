// Protected regions (quant/protected_regions.h) through the static INT8 planner: decomposed LayerNorm,
// attention score chains and --keep-fp32-head stay float with their reason in the plan, and ORT's
// optimized graph shows that it does not run them on integers behind the plan's back.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "exec/optimized_graph.h"
#include "pipeline/quantize_job.h"
#include "support/graph_builder.h"
#include "support/static_quant_helpers.h"

using namespace onnxquant;
using namespace onnxquant::test;

namespace {

struct Built {
  Model model;
  std::vector<NamedTensors> samples;
};

}  // namespace

namespace {

// x[2,4,16] -> MatMul(W0) -> [decomposed LayerNorm] -> MatMul(W1) -> MatMul(W2) -> y
Built decomposed_layer_norm() {
  GraphBuilder b(13);
  b.input("x", DType::Float32, {2, 4, 16});
  b.output("y", DType::Float32);
  b.initializer("W0", random_float_tensor({16, 16}, 70));
  b.initializer("W1", random_float_tensor({16, 16}, 71));
  b.initializer("W2", random_float_tensor({16, 4}, 72));
  b.initializer("two", make_float_tensor({}, {2.f}));
  b.initializer("eps", make_float_tensor({}, {1e-5f}));
  b.initializer("gamma", random_float_tensor({16}, 73, 0.5f, 1.5f));
  b.initializer("beta", random_float_tensor({16}, 74, -0.1f, 0.1f));
  b.node("MatMul", {"x", "W0"}, {"h"}, "mm0");
  GraphBuilder::attr_ints(b.node("ReduceMean", {"h"}, {"mean"}, "ln_mean"), "axes", {-1});
  b.node("Sub", {"h", "mean"}, {"d"}, "ln_sub");
  b.node("Pow", {"d", "two"}, {"d2"}, "ln_pow");
  GraphBuilder::attr_ints(b.node("ReduceMean", {"d2"}, {"var"}, "ln_var"), "axes", {-1});
  b.node("Add", {"var", "eps"}, {"ve"}, "ln_eps");
  b.node("Sqrt", {"ve"}, {"sd"}, "ln_sqrt");
  b.node("Div", {"d", "sd"}, {"n"}, "ln_div");
  b.node("Mul", {"n", "gamma"}, {"g"}, "ln_gamma");
  b.node("Add", {"g", "beta"}, {"ln"}, "ln_beta");
  b.node("MatMul", {"ln", "W1"}, {"h1"}, "mm1");
  b.node("MatMul", {"h1", "W2"}, {"y"}, "mm2");
  return {b.build(), random_samples("x", {2, 4, 16}, 8)};
}

}  // namespace

TEST(ProtectedRegions, DecomposedLayerNormStaysFloatWithReason) {
  const Built m = decomposed_layer_norm();
  StaticQuantization q = quantize_static(m.model, minmax_ranges(m.model, m.samples), kVnni);
  for (const char* n : {"ln_mean", "ln_sub", "ln_pow", "ln_var", "ln_eps", "ln_sqrt", "ln_div", "ln_gamma", "ln_beta"}) {
    SCOPED_TRACE(n);
    EXPECT_FALSE(node_decision(q.plan, n).quantized);
    EXPECT_EQ(node_decision(q.plan, n).reason.rfind("protected: decomposed LayerNorm over 'h'", 0), 0u) << node_decision(q.plan, n).reason;
  }
  EXPECT_TRUE(node_decision(q.plan, "mm0").quantized);
  EXPECT_TRUE(node_decision(q.plan, "mm1").quantized);
  EXPECT_EQ(count_ops(optimized_graph(q.model), "QLinearMatMul"), 2);
  EXPECT_GT(cosine_vs_fp32(m.model, q.model, m.samples), 0.99);
  // Asked for: the affine Mul/Add by constants become QLinearMul/QLinearAdd.
  StaticPlanOptions opt = kVnni;
  opt.quantize_layer_norm = true;
  StaticQuantization asked = quantize_static(m.model, minmax_ranges(m.model, m.samples), opt);
  EXPECT_TRUE(node_decision(asked.plan, "ln_gamma").quantized);
}

TEST(ProtectedRegions, AttentionScoresStayFloatWithReason) {
  // x[2,4,16]: q = x Wq, k = x Wk, v = x Wv; p = Softmax((q k^T) / 4 + mask); o = p v; y = (o Wo) Wy
  GraphBuilder b(13);
  b.input("x", DType::Float32, {2, 4, 16});
  b.output("y", DType::Float32);
  for (const char* w : {"Wq", "Wk", "Wv", "Wo"}) b.initializer(w, random_float_tensor({16, 16}, 80 + w[1]));
  b.initializer("Wy", random_float_tensor({16, 4}, 90));
  b.initializer("scale", make_float_tensor({}, {4.f}));
  b.initializer("mask", random_float_tensor({1, 4, 4}, 91, -1.f, 0.f));
  b.node("MatMul", {"x", "Wq"}, {"q"}, "mm_q");
  b.node("MatMul", {"x", "Wk"}, {"k"}, "mm_k");
  b.node("MatMul", {"x", "Wv"}, {"v"}, "mm_v");
  GraphBuilder::attr_ints(b.node("Transpose", {"k"}, {"kt"}, "k_t"), "perm", {0, 2, 1});
  b.node("MatMul", {"q", "kt"}, {"s"}, "scores");
  b.node("Div", {"s", "scale"}, {"ss"}, "scale_div");
  b.node("Add", {"ss", "mask"}, {"sm"}, "mask_add");
  GraphBuilder::attr_int(b.node("Softmax", {"sm"}, {"p"}, "softmax"), "axis", -1);
  b.node("MatMul", {"p", "v"}, {"o"}, "context");
  b.node("MatMul", {"o", "Wo"}, {"h"}, "mm_o");
  b.node("MatMul", {"h", "Wy"}, {"y"}, "mm_y");
  const Model model = b.build();
  const auto samples = random_samples("x", {2, 4, 16}, 8);
  StaticQuantization q = quantize_static(model, minmax_ranges(model, samples), kVnni);
  for (const char* n : {"scores", "scale_div", "mask_add", "softmax", "context"}) {
    SCOPED_TRACE(n);
    EXPECT_FALSE(node_decision(q.plan, n).quantized);
    EXPECT_EQ(node_decision(q.plan, n).reason.rfind("protected: attention scores around Softmax 'softmax'", 0), 0u) << node_decision(q.plan, n).reason;
  }
  // ORT would run DQ, DQ -> MatMul as MatMulIntegerToFloat even with a float output: the scores' inputs
  // (q, and k behind its Transpose) stay float too.
  EXPECT_FALSE(node_decision(q.plan, "mm_q").quantized);
  EXPECT_EQ(node_decision(q.plan, "mm_q").reason,
            "fp32: output 'q' is read by protected MatMul 'scores'; quantized, ORT would run that MatMul on integers");
  EXPECT_FALSE(node_decision(q.plan, "k_t").quantized);
  for (const char* n : {"mm_k", "mm_v", "mm_o"}) EXPECT_TRUE(node_decision(q.plan, n).quantized) << n;
  const Model optimized = optimized_graph(q.model);
  EXPECT_EQ(count_ops(optimized, "QLinearMatMul"), 3);
  // The only MatMulIntegerToFloat is mm_y, which writes the float graph output y; scores and context
  // stay float MatMuls.
  EXPECT_TRUE(node_decision(q.plan, "mm_y").quantized);
  EXPECT_EQ(count_ops(optimized, "MatMulIntegerToFloat"), 1);
  EXPECT_EQ(count_ops(optimized, "MatMul"), 2);
  EXPECT_GT(cosine_vs_fp32(model, q.model, samples), 0.99);
}

TEST(ProtectedRegions, KeepFp32HeadProtectsTheLastComputeOpAndWhatFollows) {
  // x -> conv_a -> Relu -> conv_b -> Relu -> conv_head -> Sigmoid -> y
  GraphBuilder b(13);
  b.input("x", DType::Float32, {1, 4, 8, 8});
  b.output("y", DType::Float32);
  for (const char* w : {"Wa", "Wb", "Wh"}) b.initializer(w, random_float_tensor({4, 4, 1, 1}, 95 + w[1]));
  b.node("Conv", {"x", "Wa"}, {"a"}, "conv_a");
  b.node("Relu", {"a"}, {"ra"}, "relu_a");
  b.node("Conv", {"ra", "Wb"}, {"bb"}, "conv_b");
  b.node("Relu", {"bb"}, {"rb"}, "relu_b");
  b.node("Conv", {"rb", "Wh"}, {"h"}, "conv_head");
  b.node("Sigmoid", {"h"}, {"y"}, "sigmoid");
  const Model model = b.build();
  const auto samples = random_samples("x", {1, 4, 8, 8}, 4);
  const auto ranges = minmax_ranges(model, samples);
  StaticQuantization plain = quantize_static(model, ranges, kVnni);
  EXPECT_TRUE(node_decision(plain.plan, "conv_head").quantized);
  StaticPlanOptions opt = kVnni;
  opt.keep_fp32_head = true;
  StaticQuantization q = quantize_static(model, ranges, opt);
  EXPECT_FALSE(node_decision(q.plan, "conv_head").quantized);
  EXPECT_EQ(node_decision(q.plan, "conv_head").reason, "protected: --keep-fp32-head (on the path to graph output 'y', last compute op)");
  EXPECT_EQ(node_decision(q.plan, "sigmoid").reason, "protected: --keep-fp32-head (on the path to graph output 'y', behind the last compute op)");
  EXPECT_TRUE(node_decision(q.plan, "conv_a").quantized);
  EXPECT_TRUE(node_decision(q.plan, "conv_b").quantized);
  EXPECT_EQ(count_ops(optimized_graph(q.model), "QLinearConv"), 2);
  EXPECT_GT(cosine_vs_fp32(model, q.model, samples), 0.99);
}

