// One test per placement rule of quant/fusion_rules.cpp: a tiny model built here, quantized through
// plan_static_int8 and the rewrite passes (quantize_static), then ORT 1.30's optimized graph is counted to
// show that ORT performs the fusion the rule targets, and the outputs are compared with FP32. Also the
// ops ORT does not fuse (they must stay float without Q/DQ of their own) and the pruning of int8 islands.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "analysis/fusion_report.h"
#include "exec/optimized_graph.h"
#include "pipeline/quantize_job.h"
#include "support/graph_builder.h"
#include "support/static_quant_helpers.h"

using namespace onnxquant;
using namespace onnxquant::test;

namespace {

constexpr int64_t kC = 8;  // channels of the test convolutions

// x[1,8,8,8] -> conv_in -> [the op under test, added by `middle`, reading "a" and writing "b"] -> conv_mid
// -> conv_out -> y. conv_out's output is a graph output (float), so conv_mid is the quantized consumer
// behind the op and conv_in the quantized producer in front of it.
struct Sandwich {
  Model model;
  std::vector<NamedTensors> samples;
};

template <class Middle>
Sandwich conv_sandwich(Middle middle, float input_scale = 1.f, int64_t opset = 13) {
  GraphBuilder b(opset);
  b.input("x", DType::Float32, {1, kC, 8, 8});
  b.output("y", DType::Float32);
  b.initializer("W_in", random_float_tensor({kC, kC, 3, 3}, 1, -0.3f, 0.3f));
  b.initializer("B_in", random_float_tensor({kC}, 2, -0.2f, 0.2f));
  b.initializer("W_mid", random_float_tensor({kC, kC, 1, 1}, 3));
  b.initializer("B_mid", random_float_tensor({kC}, 4, -0.2f, 0.2f));
  b.initializer("W_out", random_float_tensor({4, kC, 1, 1}, 5));
  auto& c = b.node("Conv", {"x", "W_in", "B_in"}, {"a"}, "conv_in");
  GraphBuilder::attr_ints(c, "pads", {1, 1, 1, 1});
  middle(b);
  b.node("Conv", {"b", "W_mid", "B_mid"}, {"m"}, "conv_mid");
  b.node("Conv", {"m", "W_out"}, {"y"}, "conv_out");
  return {b.build(), random_samples("x", {1, kC, 8, 8}, 8, -input_scale, input_scale)};
}

struct Quantized {
  StaticQuantization q;
  Model optimized;
  FusionReport report;
  double cosine = 0;
};

Quantized quantize_and_optimize(const Sandwich& s, StaticPlanOptions options = kVnni) {
  Quantized r{quantize_static(s.model, minmax_ranges(s.model, s.samples), options), {}, {}, 0};
  r.optimized = optimized_graph(r.q.model);
  r.report = fusion_report(r.q.model, r.optimized);
  r.cosine = cosine_vs_fp32(s.model, r.q.model, s.samples);
  return r;
}

FusionStatus status_of(const FusionReport& r, const std::string& node) {
  for (const auto& op : r.quantized_ops)
    if (op.node == node) return op.status;
  throw std::runtime_error("node " + node + " is not a quantized op in the fusion report");
}

}  // namespace

TEST(FusionRules, ClipReluSixFoldsIntoConv) {
  // Inputs scaled so that the Clip really clips at 6: the calibrated range is exactly [0, 6], whose float
  // scale * 255 rounds just past 6 unless the planner nudges it (ClipQuantFusion allows float epsilon).
  const Sandwich s = conv_sandwich(
      [](GraphBuilder& b) {
        b.initializer("lo", make_float_tensor({}, {0.f}));
        b.initializer("hi", make_float_tensor({}, {6.f}));
        b.node("Clip", {"a", "lo", "hi"}, {"b"}, "relu6");
      },
      8.f);
  const auto ranges = minmax_ranges(s.model, s.samples);
  ASSERT_DOUBLE_EQ(ranges.at("b").max, 6.0);
  const Quantized r = quantize_and_optimize(s);
  EXPECT_EQ(node_decision(r.q.plan, "relu6").rule, "clip_folded");
  ASSERT_NE(r.q.plan.activation("b"), nullptr);
  EXPECT_LE(static_cast<float>(r.q.plan.activation("b")->scales[0]) * 255.f, 6.f + std::numeric_limits<float>::epsilon());
  EXPECT_EQ(r.q.plan.activation("a"), nullptr);  // no Q in front of the Clip
  EXPECT_EQ(count_ops(r.optimized, "Clip"), 0);
  EXPECT_EQ(count_ops(r.optimized, "QLinearConv"), 2);
  EXPECT_GT(r.cosine, 0.99);
}

TEST(FusionRules, ClipFoldsAtTheNewestOpsetToo) {
  // QuantizeLinear changed version at opsets 19 and 21; ORT 1.30's ClipQuantFusion still recognises it.
  const Sandwich s = conv_sandwich(
      [](GraphBuilder& b) {
        b.initializer("lo", make_float_tensor({}, {0.f}));
        b.initializer("hi", make_float_tensor({}, {6.f}));
        b.node("Clip", {"a", "lo", "hi"}, {"b"}, "relu6");
      },
      8.f, 21);
  const Quantized r = quantize_and_optimize(s);
  EXPECT_EQ(node_decision(r.q.plan, "relu6").rule, "clip_folded");
  EXPECT_EQ(count_ops(r.optimized, "Clip"), 0);
  EXPECT_EQ(count_ops(r.optimized, "QLinearConv"), 2);
  EXPECT_GT(r.cosine, 0.99);
}

TEST(FusionRules, ClipWiderThanTheQRangeIsNotFolded) {
  // Clip(-1, 1) with uint8: the Q's grid [s*(0-zp), s*(255-zp)] cannot sit inside [-1, 1] exactly at
  // both ends, so ORT would keep the Clip: the planner leaves it float with the Q behind the Conv.
  const Sandwich s = conv_sandwich(
      [](GraphBuilder& b) {
        b.initializer("lo", make_float_tensor({}, {-1.f}));
        b.initializer("hi", make_float_tensor({}, {1.f}));
        b.node("Clip", {"a", "lo", "hi"}, {"b"}, "clip");
      },
      8.f);
  const Quantized r = quantize_and_optimize(s);
  EXPECT_FALSE(node_decision(r.q.plan, "clip").quantized);
  EXPECT_NE(node_decision(r.q.plan, "clip").reason.find("would not clip like it"), std::string::npos);
  EXPECT_EQ(count_ops(r.optimized, "QLinearConv"), 2);
  EXPECT_GT(r.cosine, 0.99);
}

TEST(FusionRules, LeakyReluBecomesQLinearLeakyRelu) {
  const Sandwich s = conv_sandwich([](GraphBuilder& b) {
    GraphBuilder::attr_float(b.node("LeakyRelu", {"a"}, {"b"}, "leaky"), "alpha", 0.1f);
  });
  const Quantized r = quantize_and_optimize(s);
  EXPECT_EQ(node_decision(r.q.plan, "leaky").rule, "leaky_relu");
  EXPECT_EQ(count_ops(r.optimized, "QLinearLeakyRelu"), 1);
  EXPECT_EQ(count_ops(r.optimized, "QLinearConv"), 2);
  EXPECT_EQ(status_of(r.report, "leaky"), FusionStatus::Fused);
  EXPECT_GT(r.cosine, 0.99);
}

TEST(FusionRules, AddAndMulWithAConstantOperandFuse) {
  const Sandwich s = conv_sandwich([](GraphBuilder& b) {
    b.initializer("shift", random_float_tensor({1, kC, 1, 1}, 21, -0.5f, 0.5f));
    b.initializer("gain", make_float_tensor({}, {0.75f}));
    b.node("Add", {"a", "shift"}, {"a2"}, "add_const");
    b.node("Mul", {"gain", "a2"}, {"b"}, "mul_const");
  });
  const Quantized r = quantize_and_optimize(s);
  EXPECT_EQ(node_decision(r.q.plan, "add_const").rule, "add");
  EXPECT_EQ(node_decision(r.q.plan, "mul_const").rule, "mul");
  const auto c = param_decisions(r.q.plan, "mul_const", TensorRole::Constant);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0]->input_index, 0);
  EXPECT_EQ(c[0]->dtype, DType::UInt8);
  EXPECT_DOUBLE_EQ(c[0]->scales[0], 0.75 / 255);  // range [0, 0.75]
  EXPECT_EQ(count_ops(r.optimized, "QLinearAdd"), 1);
  EXPECT_EQ(count_ops(r.optimized, "QLinearMul"), 1);
  EXPECT_EQ(count_ops(r.optimized, "QLinearConv"), 2);
  EXPECT_GT(r.cosine, 0.99);
}

TEST(FusionRules, DataMovementOpsRunOnUint8) {
  // Resize (nearest, x2) -> Slice -> Split in two -> Concat: the Q/DQ pairs around Resize/Slice/Split are
  // dropped (one scale/zp), and the Concat becomes QLinearConcat.
  const Sandwich s = conv_sandwich([](GraphBuilder& b) {
    b.initializer("roi", make_float_tensor({0}, {}));
    b.initializer("scales", make_float_tensor({4}, {1.f, 1.f, 2.f, 2.f}));
    b.node("Resize", {"a", "roi", "scales"}, {"up"}, "resize");
    b.initializer_i64("starts", {0, 0}, {2});
    b.initializer_i64("ends", {8, 8}, {2});
    b.initializer_i64("axes", {2, 3}, {2});
    b.node("Slice", {"up", "starts", "ends", "axes"}, {"sl"}, "slice");
    b.initializer_i64("split", {4, 4}, {2});
    GraphBuilder::attr_int(b.node("Split", {"sl", "split"}, {"s0", "s1"}, "split"), "axis", 1);
    GraphBuilder::attr_int(b.node("Concat", {"s1", "s0"}, {"b"}, "concat"), "axis", 1);
  });
  const Quantized r = quantize_and_optimize(s);
  for (const char* n : {"resize", "slice", "split"}) {
    SCOPED_TRACE(n);
    EXPECT_EQ(node_decision(r.q.plan, n).rule, "pass_through");
    EXPECT_EQ(status_of(r.report, n), FusionStatus::Int8);
  }
  EXPECT_EQ(r.q.plan.activation("s1")->same_as, "sl");
  EXPECT_EQ(r.q.plan.activation("s1")->scales, r.q.plan.activation("up")->scales);
  EXPECT_EQ(count_ops(r.optimized, "QLinearConcat"), 1);
  EXPECT_EQ(count_ops(r.optimized, "QLinearConv"), 2);
  EXPECT_EQ(r.report.dequantize_at_runtime, 1);  // only in front of the float conv_out
  EXPECT_GT(r.cosine, 0.99);
}

// A squeezenet fire module: two convolutions with Relu, concatenated. Inputs read only by the Concat share
// one grid with its output (the union of their ranges), so ORT's QLinearConcat copies instead of
// requantizing; an input whose range would break its Relu fold (the other branch is negative) does not.
Sandwich fire_module(bool second_branch_relu) {
  return conv_sandwich([&](GraphBuilder& b) {
    b.initializer("W_e1", random_float_tensor({kC / 2, kC, 1, 1}, 11, -0.5f, 0.5f));
    b.initializer("W_e3", random_float_tensor({kC / 2, kC, 3, 3}, 12, -0.2f, 0.2f));
    b.node("Conv", {"a", "W_e1"}, {"c1"}, "expand1x1");
    b.node("Relu", {"c1"}, {"e1"}, "relu1");
    GraphBuilder::attr_ints(b.node("Conv", {"a", "W_e3"}, {second_branch_relu ? "c3" : "e3"}, "expand3x3"), "pads", {1, 1, 1, 1});
    if (second_branch_relu) b.node("Relu", {"c3"}, {"e3"}, "relu3");
    GraphBuilder::attr_int(b.node("Concat", {"e1", "e3"}, {"b"}, "concat"), "axis", 1);
  });
}

TEST(FusionRules, ConcatInputsShareTheOutputGrid) {
  const Quantized r = quantize_and_optimize(fire_module(true));
  const auto ranges = minmax_ranges(fire_module(true).model, fire_module(true).samples);
  ASSERT_NE(ranges.at("e1").max, ranges.at("e3").max);  // different ranges, one grid
  const auto out = r.q.plan.activation("b");
  ASSERT_TRUE(out);
  EXPECT_EQ(r.q.plan.activation("e1")->scales, out->scales);
  EXPECT_EQ(r.q.plan.activation("e3")->scales, out->scales);
  EXPECT_EQ(r.q.plan.activation("e1")->zero_points, out->zero_points);
  EXPECT_DOUBLE_EQ(out->scales[0], std::max(ranges.at("e1").max, ranges.at("e3").max) / 255);  // the union
  EXPECT_EQ(out->zero_points[0], 0);  // still foldable Relus
  EXPECT_EQ(count_ops(r.optimized, "QLinearConcat"), 1);
  EXPECT_EQ(count_ops(r.optimized, "QLinearConv"), 4);
  EXPECT_EQ(count_ops(r.optimized, "Relu"), 0);
  EXPECT_GT(r.cosine, 0.99);

  const Quantized mixed = quantize_and_optimize(fire_module(false));
  EXPECT_NE(mixed.q.plan.activation("e1")->scales, mixed.q.plan.activation("b")->scales);
  EXPECT_EQ(count_ops(mixed.optimized, "QLinearConv"), 4);
  EXPECT_EQ(count_ops(mixed.optimized, "Relu"), 0);  // relu1 still folds into expand1x1
  EXPECT_EQ(count_ops(mixed.optimized, "QLinearConcat"), 1);
}

// An input behind a pass-through op (MaxPool here; an upsampling Resize in a detector's neck) inherits
// the grid of the tensor in front of it: that tensor is put on the shared grid instead.
TEST(FusionRules, ConcatGridReachesBehindPassThroughOps) {
  const Sandwich s = conv_sandwich([](GraphBuilder& b) {
    b.initializer("W_e1", random_float_tensor({kC / 2, kC, 1, 1}, 11, -0.5f, 0.5f));
    b.initializer("W_e3", random_float_tensor({kC / 2, kC, 1, 1}, 12, -0.2f, 0.2f));
    b.node("Conv", {"a", "W_e1"}, {"c1"}, "branch1");
    b.node("Relu", {"c1"}, {"r1"}, "relu1");
    auto& pool = b.node("MaxPool", {"r1"}, {"e1"}, "pool");
    GraphBuilder::attr_ints(pool, "kernel_shape", {3, 3});
    GraphBuilder::attr_ints(pool, "pads", {1, 1, 1, 1});
    b.node("Conv", {"a", "W_e3"}, {"c3"}, "branch3");
    b.node("Relu", {"c3"}, {"e3"}, "relu3");
    GraphBuilder::attr_int(b.node("Concat", {"e1", "e3"}, {"b"}, "concat"), "axis", 1);
  });
  const Quantized r = quantize_and_optimize(s);
  const auto out = r.q.plan.activation("b");
  ASSERT_TRUE(out);
  EXPECT_EQ(r.q.plan.activation("r1")->scales, out->scales);  // the origin, in front of the MaxPool
  EXPECT_EQ(r.q.plan.activation("e1")->scales, out->scales);  // inherited through it
  EXPECT_EQ(r.q.plan.activation("e1")->same_as, "r1");
  EXPECT_EQ(r.q.plan.activation("e3")->scales, out->scales);
  EXPECT_EQ(count_ops(r.optimized, "QLinearConcat"), 1);
  EXPECT_EQ(count_ops(r.optimized, "QLinearConv"), 4);
  EXPECT_EQ(count_ops(r.optimized, "Relu"), 0);
  EXPECT_GT(r.cosine, 0.99);
}

TEST(FusionRules, GatherRunsOnUint8) {
  const Sandwich s = conv_sandwich([](GraphBuilder& b) {
    b.initializer_i64("idx", {7, 6, 5, 4, 3, 2, 1, 0}, {8});
    GraphBuilder::attr_int(b.node("Gather", {"a", "idx"}, {"b"}, "gather"), "axis", 1);
  });
  const Quantized r = quantize_and_optimize(s);
  EXPECT_EQ(status_of(r.report, "gather"), FusionStatus::Int8);
  EXPECT_EQ(count_ops(r.optimized, "QLinearConv"), 2);
  EXPECT_GT(r.cosine, 0.99);
}

TEST(FusionRules, OpsWithoutAnOrtFusionStayFloatWithoutQdq) {
  // HardSigmoid and ConvTranspose have no QDQ fusion in ORT 1.30's CPU EP: they stay float and get no Q/DQ
  // of their own (the Q/DQ sit only where a quantized Conv reads or writes). (A HardSigmoid right behind a
  // Conv is rewritten to a Clip instead: PaddleSqueezeExcitationGate below.)
  const Sandwich s = conv_sandwich([](GraphBuilder& b) {
    b.initializer("Wt", random_float_tensor({kC, kC, 1, 1}, 31));
    b.node("ConvTranspose", {"a", "Wt"}, {"h"}, "deconv");
    b.node("HardSigmoid", {"h"}, {"b"}, "hsig");
  });
  const Quantized r = quantize_and_optimize(s);
  EXPECT_EQ(node_decision(r.q.plan, "hsig").reason, "fp32: no ORT integer kernel targeted for HardSigmoid");
  EXPECT_EQ(node_decision(r.q.plan, "deconv").reason, "fp32: no ORT integer kernel targeted for ConvTranspose");
  EXPECT_EQ(r.q.plan.activation("h"), nullptr);  // nothing between the two float ops
  EXPECT_EQ(count_ops(r.q.model, "QuantizeLinear"), 4);  // x, a (conv_in's output), b (conv_mid's input), m
  EXPECT_EQ(count_ops(r.optimized, "QLinearConv"), 2);
  EXPECT_GT(r.cosine, 0.99);
}

namespace {

// x[2,4,16] -> MatMul(W1) -> Relu -> r1 -> [middle: r1 -> h] -> MatMul(W3) -> MatMul(W4) -> y
template <class Middle>
Sandwich matmul_sandwich(Middle middle) {
  GraphBuilder b(13);
  b.input("x", DType::Float32, {2, 4, 16});
  b.output("y", DType::Float32);
  b.initializer("W1", random_float_tensor({16, 16}, 41));
  b.initializer("W3", random_float_tensor({16, 16}, 43));
  b.initializer("W4", random_float_tensor({16, 4}, 44));
  b.node("MatMul", {"x", "W1"}, {"h1"}, "mm1");
  b.node("Relu", {"h1"}, {"r1"}, "relu1");
  middle(b);
  b.node("MatMul", {"h", "W3"}, {"h3"}, "mm3");
  b.node("MatMul", {"h3", "W4"}, {"y"}, "mm4");
  return {b.build(), random_samples("x", {2, 4, 16}, 8)};
}

}  // namespace

TEST(FusionRules, MatMulOfRank3ActivationsAndOfTwoActivations) {
  const Sandwich t = matmul_sandwich([](GraphBuilder& b) {
    b.initializer("W2", random_float_tensor({16, 16}, 42));
    b.node("MatMul", {"r1", "W2"}, {"k"}, "mm2");
    auto& tr = b.node("Transpose", {"k"}, {"kt"}, "kt");
    GraphBuilder::attr_ints(tr, "perm", {0, 2, 1});
    b.node("MatMul", {"kt", "r1"}, {"h"}, "gram");  // [2,16,4] x [2,4,16] -> [2,16,16]
  });
  const Quantized r = quantize_and_optimize(t);
  EXPECT_EQ(node_decision(r.q.plan, "gram").rule, "matmul");
  EXPECT_TRUE(param_decisions(r.q.plan, "gram", TensorRole::Weight).empty());
  EXPECT_EQ(status_of(r.report, "gram"), FusionStatus::Fused);
  EXPECT_EQ(status_of(r.report, "mm1"), FusionStatus::Fused);  // rank-3 activation x 2-D weight
  EXPECT_EQ(count_ops(r.optimized, "QLinearMatMul"), 4);      // mm1, mm2, gram, mm3 (mm4 writes y)
  EXPECT_GT(r.cosine, 0.99);
}

TEST(FusionRules, SoftmaxOnlyWhenAsked) {
  const Sandwich s = matmul_sandwich([](GraphBuilder& b) { GraphBuilder::attr_int(b.node("Softmax", {"r1"}, {"h"}, "softmax"), "axis", -1); });
  const Quantized protected_ = quantize_and_optimize(s);
  EXPECT_FALSE(node_decision(protected_.q.plan, "softmax").quantized);
  EXPECT_NE(node_decision(protected_.q.plan, "softmax").reason.find("--quantize-softmax"), std::string::npos);
  // A Q behind the Softmax would let ORT fuse DQ -> Softmax -> Q anyway: its reader stays float instead.
  EXPECT_EQ(protected_.q.plan.activation("h"), nullptr);
  EXPECT_NE(node_decision(protected_.q.plan, "mm3").reason.find("kept float on purpose"), std::string::npos);
  EXPECT_EQ(count_ops(protected_.optimized, "QLinearSoftmax"), 0);
  EXPECT_EQ(count_ops(protected_.optimized, "Softmax"), 1);
  StaticPlanOptions opt = kVnni;
  opt.quantize_softmax = true;
  const Quantized asked = quantize_and_optimize(s, opt);
  EXPECT_EQ(node_decision(asked.q.plan, "softmax").rule, "softmax");
  EXPECT_EQ(asked.q.plan.activation("h")->scales[0], 1.0 / 255);  // fixed range [0, 1]
  EXPECT_EQ(count_ops(asked.optimized, "QLinearSoftmax"), 1);
  EXPECT_GT(asked.cosine, 0.98);
}

TEST(FusionRules, IslandWithoutComputeIsNotQuantized) {
  // x -> Sigmoid -> Add(const) -> Mul(x) -> y: quantizable ops, but no Conv/MatMul/Gemm: Q -> QLinear* -> DQ
  // would replace each cheap float op by three.
  GraphBuilder b(13);
  b.input("x", DType::Float32, {1, 4, 8, 8});
  b.output("y", DType::Float32);
  b.initializer("c", random_float_tensor({1, 4, 1, 1}, 51));
  b.node("Sigmoid", {"x"}, {"s"}, "sig");
  b.node("Add", {"s", "c"}, {"t"}, "add");
  b.node("Mul", {"t", "x"}, {"u"}, "mul");
  b.node("Exp", {"u"}, {"y"}, "exp");
  const Model m = b.build();
  const auto samples = random_samples("x", {1, 4, 8, 8}, 4);
  const StaticQuantization q = quantize_static(m, minmax_ranges(m, samples), kVnni);
  EXPECT_EQ(q.plan.quantized_node_count(), 0);
  EXPECT_NE(node_decision(q.plan, "add").reason.find("int8 island without a Conv/MatMul/Gemm"), std::string::npos);
  EXPECT_EQ(count_ops(q.model, "QuantizeLinear"), 0);
  EXPECT_EQ(count_ops(q.model, "DequantizeLinear"), 0);
}

TEST(FusionRules, LonePassThroughBetweenFloatOpsIsNotQuantized) {
  // x -> Exp -> e; e -> Conv (quantized, so e gets a Q) and e -> Reshape -> Exp -> y2. The Reshape has no
  // quantized neighbour: uint8 there would only add a DQ in front of the float Exp.
  GraphBuilder b(13);
  b.input("x", DType::Float32, {1, 4, 8, 8});
  b.output("y", DType::Float32);
  b.output("y2", DType::Float32);
  b.initializer("W", random_float_tensor({4, 4, 1, 1}, 61));
  b.initializer("W2", random_float_tensor({4, 4, 1, 1}, 62));
  b.initializer_i64("shape", {1, 256}, {2});
  b.node("Exp", {"x"}, {"e"}, "exp_in");
  b.node("Conv", {"e", "W"}, {"c"}, "conv");
  b.node("Conv", {"c", "W2"}, {"y"}, "conv_out");
  b.node("Reshape", {"e", "shape"}, {"r"}, "reshape");
  b.node("Exp", {"r"}, {"y2"}, "exp_out");
  const Model m = b.build();
  const auto samples = random_samples("x", {1, 4, 8, 8}, 4);
  const StaticQuantization q = quantize_static(m, minmax_ranges(m, samples), kVnni);
  EXPECT_TRUE(node_decision(q.plan, "conv").quantized);
  EXPECT_FALSE(node_decision(q.plan, "reshape").quantized);
  EXPECT_NE(node_decision(q.plan, "reshape").reason.find("no quantized op on either side"), std::string::npos);
  EXPECT_EQ(q.plan.activation("r"), nullptr);
  EXPECT_EQ(count_ops(optimized_graph(q.model), "QLinearConv"), 1);
  EXPECT_GT(cosine_vs_fp32(m, q.model, samples), 0.99);
}

TEST(FusionRules, PaddleHardSwishRunsInIntegers) {
  // PaddlePaddle's hardswish: a * Clip(a + 3, 0, 6) / 6. Div by a constant becomes Mul by its reciprocal
  // (rewrite/div_by_constant_to_mul.h) so that it fuses as QLinearMul; the Clip folds into QLinearAdd.
  const Sandwich s = conv_sandwich([](GraphBuilder& b) {
    b.initializer("three", make_float_tensor({}, {3.f}));
    b.initializer("zero", make_float_tensor({}, {0.f}));
    b.initializer("six", make_float_tensor({}, {6.f}));
    b.node("Add", {"a", "three"}, {"a3"}, "hs_add");
    b.node("Clip", {"a3", "zero", "six"}, {"c"}, "hs_clip");
    b.node("Mul", {"a", "c"}, {"ac"}, "hs_mul");
    b.node("Div", {"ac", "six"}, {"b"}, "hs_div");
  }, 4.f);
  const Quantized r = quantize_and_optimize(s);
  EXPECT_EQ(node_decision(r.q.plan, "hs_clip").rule, "clip_folded");
  EXPECT_EQ(node_decision(r.q.plan, "hs_div").op_type, "Mul");
  EXPECT_EQ(node_decision(r.q.plan, "hs_div").rule, "mul");
  EXPECT_EQ(count_ops(r.optimized, "QLinearAdd"), 1);
  EXPECT_EQ(count_ops(r.optimized, "QLinearMul"), 2);
  EXPECT_EQ(count_ops(r.optimized, "Clip"), 0);
  EXPECT_EQ(count_ops(r.optimized, "Div"), 0);
  EXPECT_EQ(count_ops(r.optimized, "QLinearConv"), 2);
  EXPECT_EQ(r.report.dequantize_at_runtime, 1);  // only in front of the float conv_out
  EXPECT_GT(r.cosine, 0.99);
}

TEST(FusionRules, HardSigmoidBehindAConvFoldsAsAClip) {
  // Squeeze-excitation gate (PP-OCR, MobileNetV3): Conv -> HardSigmoid becomes Conv(alpha*W, alpha*b+beta)
  // -> Clip(0, 1) (rewrite/hard_sigmoid_to_clip.h), and the Clip folds into QLinearConv.
  const Sandwich s = conv_sandwich([](GraphBuilder& b) {
    auto& hs = b.node("HardSigmoid", {"a"}, {"b"}, "hsig");
    GraphBuilder::attr_float(hs, "alpha", 0.2f);
    GraphBuilder::attr_float(hs, "beta", 0.5f);
  });
  const Quantized r = quantize_and_optimize(s);
  EXPECT_EQ(node_decision(r.q.plan, "hsig").op_type, "Clip");
  EXPECT_EQ(node_decision(r.q.plan, "hsig").rule, "clip_folded");
  EXPECT_EQ(count_ops(r.optimized, "HardSigmoid"), 0);
  EXPECT_EQ(count_ops(r.optimized, "Clip"), 0);
  EXPECT_EQ(count_ops(r.optimized, "QLinearConv"), 2);
  EXPECT_EQ(r.report.dequantize_at_runtime, 1);
  EXPECT_GT(r.cosine, 0.99);
}

TEST(FusionRules, OrtRunsAQdqConvTransposeInFloat) {
  // Why ConvTranspose has no rule: written by hand with per-channel int8 weights on axis 1 (its output
  // channels), DQ -> ConvTranspose -> Q is left as is by ORT 1.30's CPU EP (no integer ConvTranspose), so
  // its Q/DQ would only cost time.
  GraphBuilder b(13);
  b.input("x", DType::Float32, {1, 4, 8, 8});
  b.output("y", DType::Float32);
  b.initializer("s", make_float_tensor({}, {0.02f}));
  Tensor zp(DType::UInt8, {});
  zp.as<uint8_t>()[0] = 128;
  b.initializer("zp", zp);
  Tensor w(DType::Int8, {4, 6, 2, 2});
  for (size_t i = 0; i < w.as<int8_t>().size(); ++i) w.as<int8_t>()[i] = static_cast<int8_t>(static_cast<int>(i % 15) - 7);
  b.initializer("Wq", w);
  b.initializer("Ws", random_float_tensor({6}, 5, 0.01f, 0.02f));
  b.initializer("Wz", Tensor(DType::Int8, {6}));
  b.node("QuantizeLinear", {"x", "s", "zp"}, {"xq"});
  b.node("DequantizeLinear", {"xq", "s", "zp"}, {"xd"});
  GraphBuilder::attr_int(b.node("DequantizeLinear", {"Wq", "Ws", "Wz"}, {"wd"}), "axis", 1);
  GraphBuilder::attr_ints(b.node("ConvTranspose", {"xd", "wd"}, {"t"}, "deconv"), "strides", {2, 2});
  b.node("QuantizeLinear", {"t", "s", "zp"}, {"tq"});
  b.node("DequantizeLinear", {"tq", "s", "zp"}, {"y"});
  const Model optimized = optimized_graph(b.build());
  EXPECT_EQ(count_ops(optimized, "ConvTranspose"), 1);
  for (const auto& n : optimized.proto().graph().node()) EXPECT_EQ(find_integer_kernel(n.domain(), n.op_type()), nullptr) << n.op_type();
}

TEST(FusionRules, ExpandAndTileRunOnUint8) {
  // a[1,8,8,8] -> Slice to [1,8,1,8] -> Expand back to [1,8,8,8]; a -> Slice to [1,8,4,8] -> Tile x2 on H;
  // the two meet in a QLinearAdd.
  const Sandwich s = conv_sandwich([](GraphBuilder& b) {
    b.initializer_i64("s0", {0}, {1});
    b.initializer_i64("e1", {1}, {1});
    b.initializer_i64("e4", {4}, {1});
    b.initializer_i64("ax", {2}, {1});
    b.node("Slice", {"a", "s0", "e1", "ax"}, {"row"}, "row");
    b.initializer_i64("shape", {1, kC, 8, 8}, {4});
    b.node("Expand", {"row", "shape"}, {"ex"}, "expand");
    b.node("Slice", {"a", "s0", "e4", "ax"}, {"half"}, "half");
    b.initializer_i64("reps", {1, 1, 2, 1}, {4});
    b.node("Tile", {"half", "reps"}, {"tl"}, "tile");
    b.node("Add", {"ex", "tl"}, {"b"}, "add");
  });
  const Quantized r = quantize_and_optimize(s);
  EXPECT_EQ(status_of(r.report, "expand"), FusionStatus::Int8);
  EXPECT_EQ(status_of(r.report, "tile"), FusionStatus::Int8);
  EXPECT_EQ(count_ops(r.optimized, "QLinearAdd"), 1);
  EXPECT_EQ(count_ops(r.optimized, "QLinearConv"), 2);
  EXPECT_EQ(r.report.dequantize_at_runtime, 1);
  EXPECT_GT(r.cosine, 0.99);
}
