// Static INT8 (quant/static_planner.h, rewrite/quantize_weights.h, rewrite/insert_qdq.h) on small graphs
// built here: the plan's decisions and reasons, the per-channel axis and scales, the int32 bias values
// exactly, that ORT 1.30's optimized graph holds the integer kernel each placement rule targets, and that
// the quantized model agrees with FP32 on random data.
#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cmath>

#include "analysis/compare.h"
#include "exec/executor.h"
#include "exec/optimized_graph.h"
#include "ir/tensor_proto.h"
#include "pipeline/quantize_job.h"
#include "rewrite/expose_tensors.h"
#include "support/graph_builder.h"
#include "support/static_quant_helpers.h"

using namespace onnxquant;
using namespace onnxquant::test;

namespace {

// Max |w| per output channel (axis 0 of a Conv weight) / 127.
std::vector<double> expected_scales_axis0(const Tensor& w) {
  const int64_t c = w.shape[0], inner = w.elements() / c;
  std::vector<double> s(c, 0);
  for (int64_t i = 0; i < w.elements(); ++i) s[i / inner] = std::max(s[i / inner], std::fabs(double(w.as<float>()[i])));
  for (double& x : s) x /= 127.0;
  return s;
}

struct Built {
  Model model;
  std::vector<NamedTensors> samples;
};

// x -> conv1(W1,B1) -> Relu -> conv2(W2,B2) -> y (graph output)
Built conv_relu_conv(int64_t channels, int64_t group) {
  GraphBuilder b(13);
  b.input("x", DType::Float32, {1, channels, 8, 8});
  b.output("y", DType::Float32, {1, 4, 8, 8});
  b.initializer("W1", random_float_tensor({channels, channels / group, 3, 3}, 1));
  b.initializer("B1", random_float_tensor({channels}, 2, -0.5f, 0.5f));
  b.initializer("W2", random_float_tensor({4, channels, 1, 1}, 3));
  b.initializer("B2", random_float_tensor({4}, 4));
  auto& c1 = b.node("Conv", {"x", "W1", "B1"}, {"c1"}, "conv1");
  GraphBuilder::attr_ints(c1, "pads", {1, 1, 1, 1});
  if (group > 1) GraphBuilder::attr_int(c1, "group", group);
  b.node("Relu", {"c1"}, {"r1"}, "relu1");
  b.node("Conv", {"r1", "W2", "B2"}, {"y"}, "conv2");
  return {b.build(), random_samples("x", {1, channels, 8, 8}, 8)};
}

}  // namespace

TEST(StaticQuant, ConvReluPlanWeightsBiasAndFusion) {
  const Built m = conv_relu_conv(3, 1);
  const auto ranges = minmax_ranges(m.model, m.samples);
  StaticQuantization q = quantize_static(m.model, ranges, kVnni);

  const auto& conv1 = node_decision(q.plan, "conv1");
  EXPECT_TRUE(conv1.quantized);
  EXPECT_EQ(conv1.rule, "conv");
  EXPECT_NE(conv1.reason.find("QLinearConv"), std::string::npos);
  EXPECT_EQ(node_decision(q.plan, "relu1").rule, "relu_folded");
  const auto& conv2 = node_decision(q.plan, "conv2");
  EXPECT_FALSE(conv2.quantized);
  EXPECT_EQ(conv2.reason, "protected: output 'y' is a graph output");

  // The Conv output before the Relu gets no Q (ORT drops the Relu in front of the Relu's Q).
  EXPECT_EQ(q.plan.activation("c1"), nullptr);
  ASSERT_NE(q.plan.activation("r1"), nullptr);
  EXPECT_EQ(q.plan.activation("r1")->zero_points[0], 0);
  ASSERT_NE(q.plan.activation("x"), nullptr);

  // Weight: per-channel axis 0, scale[c] = max|W[c]| / 127.
  const auto w = param_decisions(q.plan, "conv1", TensorRole::Weight);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0]->granularity, Granularity::PerChannel);
  EXPECT_EQ(w[0]->axis, 0);
  EXPECT_EQ(w[0]->reason, "int8 per-channel axis 0 (Conv weight)");
  const Tensor w1 = initializer(m.model, "W1");
  const auto want_sw = expected_scales_axis0(w1);
  ASSERT_EQ(w[0]->scales.size(), 3u);
  for (size_t c = 0; c < 3; ++c) EXPECT_DOUBLE_EQ(w[0]->scales[c], want_sw[c]);

  // Bias: int32, bias_q[c] = round(b[c] / (s_in * s_w[c])), exactly, in the written model.
  const double s_in = compute_qparams(ranges.at("x"), QuantTarget::UInt8Asymmetric).scale;
  const Tensor b1 = initializer(m.model, "B1");
  const Tensor bq = initializer(q.model, "B1_quantized");
  ASSERT_EQ(bq.dtype, DType::Int32);
  for (int c = 0; c < 3; ++c) EXPECT_EQ(bq.as<int32_t>()[c], int32_t(std::nearbyint(b1.as<float>()[c] / (s_in * want_sw[c])))) << c;
  const Tensor wq = initializer(q.model, "W1_quantized");
  ASSERT_EQ(wq.dtype, DType::Int8);
  EXPECT_EQ(wq.as<int8_t>()[0], int8_t(std::nearbyint(w1.as<float>()[0] / want_sw[0])));
  // Per-channel DQ carries axis=0; the original float weights are gone (nothing reads them).
  int dq_with_axis = 0;
  for (const auto& n : q.model.proto().graph().node())
    if (n.op_type() == "DequantizeLinear" && n.attribute_size() == 1 && n.attribute(0).name() == "axis" && n.attribute(0).i() == 0) ++dq_with_axis;
  EXPECT_EQ(dq_with_axis, 2);  // W1 and B1
  EXPECT_THROW(initializer(q.model, "W1"), std::runtime_error);

  EXPECT_NO_THROW(onnx::checker::check_model(q.model.proto()));
  EXPECT_EQ(count_ops(optimized_graph(q.model), "QLinearConv"), 1);
  EXPECT_GT(cosine_vs_fp32(m.model, q.model, m.samples), 0.99);
}

TEST(StaticQuant, DepthwiseConvIsPerChannel) {
  const Built m = conv_relu_conv(8, 8);
  StaticQuantization q = quantize_static(m.model, minmax_ranges(m.model, m.samples), kVnni);
  const auto w = param_decisions(q.plan, "conv1", TensorRole::Weight);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0]->axis, 0);
  EXPECT_EQ(w[0]->scales.size(), 8u);
  EXPECT_EQ(w[0]->reason, "int8 per-channel axis 0 (depthwise Conv weight)");
  const auto want = expected_scales_axis0(initializer(m.model, "W1"));
  for (size_t c = 0; c < 8; ++c) EXPECT_DOUBLE_EQ(w[0]->scales[c], want[c]);
  EXPECT_EQ(param_decisions(q.plan, "conv1", TensorRole::Bias)[0]->scales.size(), 8u);
  EXPECT_EQ(count_ops(optimized_graph(q.model), "QLinearConv"), 1);
  EXPECT_GT(cosine_vs_fp32(m.model, q.model, m.samples), 0.99);
}

TEST(StaticQuant, PerTensorOption) {
  const Built m = conv_relu_conv(3, 1);
  StaticQuantization q = quantize_static(m.model, minmax_ranges(m.model, m.samples), [] { auto o = kVnni; o.weights = Granularity::PerTensor; return o; }());
  const auto w = param_decisions(q.plan, "conv1", TensorRole::Weight);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0]->scales.size(), 1u);
  EXPECT_EQ(w[0]->reason, "int8 per-tensor (Conv weight)");
  EXPECT_EQ(count_ops(optimized_graph(q.model), "QLinearConv"), 1);
}

TEST(StaticQuant, ExcludeByOpTypeKeepsFloatWithReason) {
  const Built m = conv_relu_conv(3, 1);
  StaticQuantization q = quantize_static(m.model, minmax_ranges(m.model, m.samples), {.exclude = {"Conv"}});
  EXPECT_FALSE(node_decision(q.plan, "conv1").quantized);
  EXPECT_EQ(node_decision(q.plan, "conv1").reason, "fp32: excluded by --exclude 'Conv'");
  EXPECT_EQ(q.plan.quantized_node_count(), 0);
  EXPECT_EQ(count_ops(q.model, "QuantizeLinear"), 0);
  StaticQuantization r = quantize_static(m.model, minmax_ranges(m.model, m.samples), {.exclude = {"conv[0-9]"}});
  EXPECT_EQ(node_decision(r.plan, "conv1").reason, "fp32: excluded by --exclude 'conv[0-9]'");
}

namespace {

// x[2,16] -> op1(W1 [,C1]) -> Relu -> MatMul(W2) -> y (graph output)
Built matmul_like(const std::string& op, int64_t trans_b) {
  GraphBuilder b(13);
  b.input("x", DType::Float32, {2, 16});
  b.output("y", DType::Float32, {2, 4});
  const Shape w_shape = trans_b ? Shape{8, 16} : Shape{16, 8};
  b.initializer("W1", random_float_tensor(w_shape, 7));
  b.initializer("W2", random_float_tensor({8, 4}, 8));
  std::vector<std::string> ins{"x", "W1"};
  if (op == "Gemm") {
    b.initializer("C1", random_float_tensor({8}, 9, -0.2f, 0.2f));
    ins.push_back("C1");
  }
  auto& n = b.node(op, ins, {"h"}, "op1");
  if (op == "Gemm") GraphBuilder::attr_int(n, "transB", trans_b);
  b.node("Relu", {"h"}, {"r"}, "relu");
  b.node("MatMul", {"r", "W2"}, {"y"}, "out");
  return {b.build(), random_samples("x", {2, 16}, 8)};
}

}  // namespace

TEST(StaticQuant, MatMulWeightPerChannelOnLastAxis) {
  const Built m = matmul_like("MatMul", 0);
  StaticQuantization q = quantize_static(m.model, minmax_ranges(m.model, m.samples), kVnni);
  EXPECT_TRUE(node_decision(q.plan, "op1").quantized);
  const auto w = param_decisions(q.plan, "op1", TensorRole::Weight);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0]->axis, 1);
  EXPECT_EQ(w[0]->scales.size(), 8u);
  EXPECT_EQ(count_ops(optimized_graph(q.model), "QLinearMatMul"), 1);
  EXPECT_GT(cosine_vs_fp32(m.model, q.model, m.samples), 0.99);
}

TEST(StaticQuant, GemmAxisFollowsTransB) {
  for (int64_t trans_b : {0, 1}) {
    SCOPED_TRACE(trans_b);
    const Built m = matmul_like("Gemm", trans_b);
    const auto ranges = minmax_ranges(m.model, m.samples);
    StaticQuantization q = quantize_static(m.model, ranges, kVnni);
    const auto w = param_decisions(q.plan, "op1", TensorRole::Weight);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0]->axis, trans_b ? 0 : 1);
    EXPECT_EQ(w[0]->reason, "int8 per-channel axis " + std::to_string(trans_b ? 0 : 1) + " (Gemm weight, transB=" + std::to_string(trans_b) + ")");
    // Bias scale per output column: s_in * s_w[n].
    const auto bias = param_decisions(q.plan, "op1", TensorRole::Bias);
    ASSERT_EQ(bias.size(), 1u);
    const double s_in = compute_qparams(ranges.at("x"), QuantTarget::UInt8Asymmetric).scale;
    for (size_t c = 0; c < 8; ++c) EXPECT_DOUBLE_EQ(bias[0]->scales[c], s_in * w[0]->scales[c]);
    const Tensor c1 = initializer(m.model, "C1"), cq = initializer(q.model, "C1_quantized");
    for (int c = 0; c < 8; ++c) EXPECT_EQ(cq.as<int32_t>()[c], int32_t(std::nearbyint(c1.as<float>()[c] / bias[0]->scales[c])));
    EXPECT_EQ(count_ops(optimized_graph(q.model), "QGemm"), 1);
    EXPECT_GT(cosine_vs_fp32(m.model, q.model, m.samples), 0.99);
  }
}

TEST(StaticQuant, GemmAndMatMulWritingAGraphOutputComputeInIntegersWithAFloatOutput) {
  // matmul_like's last MatMul writes the graph output y: its inputs are quantized, y is not (no Q), and
  // ORT runs it as MatMulIntegerToFloat. The same for a Gemm head: QGemm with a float output.
  const Built mm = matmul_like("MatMul", 0);
  StaticQuantization q = quantize_static(mm.model, minmax_ranges(mm.model, mm.samples), kVnni);
  EXPECT_TRUE(node_decision(q.plan, "out").quantized);
  EXPECT_EQ(param_decisions(q.plan, "out", TensorRole::Weight).size(), 1u);
  for (const auto& t : q.plan.tensors)
    if (t.tensor == "y") EXPECT_EQ(t.role, TensorRole::Float) << t.reason;
  const Model opt = optimized_graph(q.model);
  EXPECT_EQ(count_ops(opt, "MatMulIntegerToFloat"), 1);
  EXPECT_EQ(count_ops(opt, "MatMul"), 0);
  EXPECT_GT(cosine_vs_fp32(mm.model, q.model, mm.samples), 0.99);

  GraphBuilder b(13);
  b.input("x", DType::Float32, {2, 16});
  b.output("y", DType::Float32, {2, 8});
  b.initializer("W", random_float_tensor({8, 16}, 21));
  b.initializer("C", random_float_tensor({8}, 22, -0.2f, 0.2f));
  GraphBuilder::attr_int(b.node("Gemm", {"x", "W", "C"}, {"y"}, "head"), "transB", 1);
  const Model gemm = b.build();
  const auto samples = random_samples("x", {2, 16}, 8);
  StaticQuantization g = quantize_static(gemm, minmax_ranges(gemm, samples), kVnni);
  EXPECT_TRUE(node_decision(g.plan, "head").quantized);
  EXPECT_EQ(param_decisions(g.plan, "head", TensorRole::Bias).size(), 1u);
  const Model gopt = optimized_graph(g.model);
  EXPECT_EQ(count_ops(gopt, "QGemm"), 1);
  EXPECT_EQ(count_ops(gopt, "DequantizeLinear"), 0);  // nothing left to dequantize: y comes out of QGemm in float
  EXPECT_GT(cosine_vs_fp32(gemm, g.model, samples), 0.99);
  const auto& out = g.model.proto().graph().output(0);
  EXPECT_EQ(out.name(), "y");
  EXPECT_EQ(out.type().tensor_type().elem_type(), onnx::TensorProto::FLOAT);
}

TEST(StaticQuant, SharedWeightGetsOneCopyAndBiasPerInputScale) {
  // x -> convA(W,B) -> Relu -> convB(W,B) -> Relu -> conv_out -> y: W and B are shared by convA/convB.
  GraphBuilder b(13);
  b.input("x", DType::Float32, {1, 4, 8, 8});
  b.output("y", DType::Float32, {1, 2, 8, 8});
  b.initializer("W", random_float_tensor({4, 4, 3, 3}, 11, -0.3f, 0.3f));
  b.initializer("B", random_float_tensor({4}, 12, -0.1f, 0.1f));
  b.initializer("Wo", random_float_tensor({2, 4, 1, 1}, 13));
  for (const char* c : {"convA", "convB"}) {
    const std::string in = std::string(c) == "convA" ? "x" : "ra";
    auto& n = b.node("Conv", {in, "W", "B"}, {std::string(c) + "_out"}, c);
    GraphBuilder::attr_ints(n, "pads", {1, 1, 1, 1});
    b.node("Relu", {std::string(c) + "_out"}, {std::string(c) == "convA" ? "ra" : "rb"});
  }
  b.node("Conv", {"rb", "Wo"}, {"y"}, "conv_out");
  const Model model = b.build();
  const auto samples = random_samples("x", {1, 4, 8, 8}, 8);
  StaticQuantization q = quantize_static(model, minmax_ranges(model, samples), kVnni);
  const auto wa = param_decisions(q.plan, "convA", TensorRole::Weight), wb = param_decisions(q.plan, "convB", TensorRole::Weight);
  ASSERT_EQ(wa.size(), 1u);
  ASSERT_EQ(wb.size(), 1u);
  EXPECT_NE(wa[0]->reason.find("shared by 2 nodes"), std::string::npos);
  EXPECT_EQ(wa[0]->scales, wb[0]->scales);
  const auto ba = param_decisions(q.plan, "convA", TensorRole::Bias), bb = param_decisions(q.plan, "convB", TensorRole::Bias);
  EXPECT_NE(ba[0]->scales, bb[0]->scales);  // different input scales
  int int8_inits = 0, int32_inits = 0;
  for (const auto& t : q.model.proto().graph().initializer()) {
    if (t.data_type() == onnx::TensorProto::INT8 && t.dims_size() == 4) ++int8_inits;
    if (t.data_type() == onnx::TensorProto::INT32 && t.name().find("zero_point") == std::string::npos) ++int32_inits;
  }
  EXPECT_EQ(int8_inits, 1);   // one int8 copy of W, shared
  EXPECT_EQ(int32_inits, 2);  // one int32 bias per input scale
  EXPECT_NO_THROW(onnx::checker::check_model(q.model.proto()));
  EXPECT_EQ(count_ops(optimized_graph(q.model), "QLinearConv"), 2);
  EXPECT_GT(cosine_vs_fp32(model, q.model, samples), 0.99);
}

TEST(StaticQuant, TensorWithoutRangeStaysFloat) {
  const Built m = conv_relu_conv(3, 1);
  auto ranges = minmax_ranges(m.model, m.samples);
  ranges.erase("r1");
  ranges.erase("c1");
  StaticQuantization q = quantize_static(m.model, ranges, kVnni);
  EXPECT_FALSE(node_decision(q.plan, "conv1").quantized);
  EXPECT_EQ(node_decision(q.plan, "conv1").reason, "fp32: no calibration range for output 'c1'");
  EXPECT_EQ(count_ops(q.model, "QuantizeLinear"), 0);
}

TEST(StaticQuant, IfSubgraphKeepsReadingFloatTensors) {
  // x -> conv1 -> Relu -> r; If(cond) { then: r * 2 ; else: r captured as is } -> conv2 -> conv3 -> y.
  // conv_cap's output 'c' is captured by the branches: ORT would not fuse conv_cap (its output has a
  // reader that is not a Q), so it stays float; the branches read float tensors and the model runs.
  GraphBuilder b(13);
  b.input("x", DType::Float32, {1, 4, 8, 8});
  b.input("cond", DType::Bool, {});
  b.output("y", DType::Float32);
  for (const char* w : {"W1", "W2", "W3", "Wc"}) b.initializer(w, random_float_tensor({4, 4, 1, 1}, 110 + w[1]));
  b.node("Conv", {"x", "W1"}, {"c1"}, "conv1");
  b.node("Relu", {"c1"}, {"r"}, "relu1");
  b.node("Conv", {"r", "Wc"}, {"c"}, "conv_cap");
  auto branch = [](const std::string& name, bool doubled) {
    onnx::GraphProto g;
    g.set_name(name);
    auto* n = g.add_node();
    if (doubled) {
      n->set_op_type("Add");
      n->add_input("c");
      n->add_input("c");
    } else {
      n->set_op_type("Identity");
      n->add_input("c");
    }
    n->add_output(name + "_out");
    auto* o = g.add_output();
    o->set_name(name + "_out");
    o->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
    return g;
  };
  auto& iff = b.node("If", {"cond"}, {"sel"}, "if");
  GraphBuilder::attr_graph(iff, "then_branch", branch("then", true));
  GraphBuilder::attr_graph(iff, "else_branch", branch("else", false));
  b.node("Conv", {"sel", "W2"}, {"c2"}, "conv2");
  b.node("Conv", {"c2", "W3"}, {"y"}, "conv3");
  const Model model = b.build();
  std::vector<NamedTensors> samples;
  for (int i = 0; i < 4; ++i) {
    Tensor cond(DType::Bool, {});
    cond.as<bool>()[0] = i % 2 == 0;
    samples.push_back({{"x", random_float_tensor({1, 4, 8, 8}, 120 + i)}, {"cond", cond}});
  }
  StaticQuantization q = quantize_static(model, minmax_ranges(model, samples), kVnni);
  EXPECT_TRUE(node_decision(q.plan, "conv1").quantized);
  EXPECT_FALSE(node_decision(q.plan, "conv_cap").quantized);
  EXPECT_NE(node_decision(q.plan, "conv_cap").reason.find("read inside a subgraph"), std::string::npos);
  EXPECT_TRUE(node_decision(q.plan, "conv2").quantized);
  EXPECT_NO_THROW(onnx::checker::check_model(q.model.proto()));
  EXPECT_EQ(count_ops(optimized_graph(q.model), "QLinearConv"), 2);  // conv1, conv2
  EXPECT_GT(cosine_vs_fp32(model, q.model, samples), 0.99);
}

TEST(StaticQuant, TargetCpuWithoutVnniReducesTheWeightRange) {
  const Built m = conv_relu_conv(3, 1);
  const auto ranges = minmax_ranges(m.model, m.samples);
  StaticQuantization avx2 = quantize_static(m.model, ranges, for_cpu(CpuTarget::Avx2));
  EXPECT_EQ(avx2.plan.target_cpu, "avx2");
  EXPECT_EQ(avx2.plan.target_cpu_source, "--target-cpu");
  EXPECT_TRUE(avx2.plan.reduce_range);
  EXPECT_EQ(avx2.plan.reduce_range_reason.rfind("on: avx2 has no VNNI", 0), 0u);
  const auto w = param_decisions(avx2.plan, "conv1", TensorRole::Weight);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0]->qmin, -64);
  EXPECT_EQ(w[0]->qmax, 63);
  EXPECT_EQ(w[0]->reason, "int8 per-channel axis 0 (Conv weight, 7-bit [-64, 63] (reduce range))");
  const Tensor w1 = initializer(m.model, "W1");
  const auto want = expected_scales_axis0(w1);
  for (size_t c = 0; c < want.size(); ++c) EXPECT_DOUBLE_EQ(w[0]->scales[c], want[c] * 127.0 / 63.0);
  const Tensor wq = initializer(avx2.model, "W1_quantized");
  int8_t lo = 0, hi = 0;
  for (int8_t v : wq.as<int8_t>()) lo = std::min(lo, v), hi = std::max(hi, v);
  EXPECT_GE(lo, -64);
  EXPECT_EQ(hi, 63);  // some channel's largest weight is positive and lands on the top of the grid
  EXPECT_EQ(count_ops(optimized_graph(avx2.model), "QLinearConv"), 1);
  EXPECT_GT(cosine_vs_fp32(m.model, avx2.model, m.samples), 0.99);

  StaticQuantization vnni = quantize_static(m.model, ranges, kVnni);
  EXPECT_FALSE(vnni.plan.reduce_range);
  EXPECT_EQ(vnni.plan.reduce_range_reason, "off: avx512-vnni sums u8 x s8 products in int32 (VNNI), 8-bit weights cannot saturate");
  StaticPlanOptions on = kVnni;
  on.reduce_range = ReduceRange::On;
  StaticQuantization forced = quantize_static(m.model, ranges, on);
  EXPECT_TRUE(forced.plan.reduce_range);
  const auto json = plan_to_json(avx2.plan);
  EXPECT_EQ(json.at("target_cpu").at("isa"), "avx2");
  EXPECT_EQ(json.at("reduce_range").at("enabled"), true);
}

TEST(StaticQuant, TargetCpuAutoIsDetected) {
  const CpuTarget t = detect_cpu_target();
  EXPECT_NE(t, CpuTarget::Auto);
  EXPECT_EQ(resolve_cpu_target(CpuTarget::Auto), t);
  EXPECT_EQ(parse_cpu_target("avx-vnni"), CpuTarget::AvxVnni);
  EXPECT_FALSE(parse_cpu_target("sse4").has_value());
  const Built m = conv_relu_conv(3, 1);
  StaticQuantization q = quantize_static(m.model, minmax_ranges(m.model, m.samples));
  EXPECT_EQ(q.plan.target_cpu, cpu_target_name(t));
  EXPECT_EQ(q.plan.target_cpu_source, "detected on this machine (cpuid)");
  EXPECT_EQ(q.plan.reduce_range, t == CpuTarget::Avx2);
}

TEST(StaticQuant, BiasSharedThroughIdentityIsQuantized) {
  // PyTorch's exporter shares equal biases through Identity nodes (squeezenet1_1: 18 of 26 Convs).
  GraphBuilder b(13);
  b.input("x", DType::Float32, {1, 4, 8, 8});
  b.output("y", DType::Float32);
  b.initializer("W1", random_float_tensor({4, 4, 1, 1}, 130));
  b.initializer("W2", random_float_tensor({4, 4, 1, 1}, 131));
  b.initializer("B", random_float_tensor({4}, 132, -0.2f, 0.2f));
  b.node("Identity", {"B"}, {"B_shared"}, "share_bias");
  b.node("Conv", {"x", "W1", "B"}, {"c1"}, "conv1");
  b.node("Relu", {"c1"}, {"r1"}, "relu1");
  b.node("Conv", {"r1", "W2", "B_shared"}, {"c2"}, "conv2");
  b.node("Relu", {"c2"}, {"r2"}, "relu2");
  b.node("Conv", {"r2", "W2"}, {"y"}, "conv_out");
  const Model model = b.build();
  const auto samples = random_samples("x", {1, 4, 8, 8}, 4);
  StaticQuantization q = quantize_static(model, minmax_ranges(model, samples), kVnni);
  EXPECT_TRUE(node_decision(q.plan, "conv2").quantized) << node_decision(q.plan, "conv2").reason;
  ASSERT_EQ(param_decisions(q.plan, "conv2", TensorRole::Bias).size(), 1u);
  EXPECT_EQ(count_ops(q.model, "Identity"), 0);  // nothing reads it any more
  EXPECT_EQ(count_ops(optimized_graph(q.model), "QLinearConv"), 2);
  EXPECT_GT(cosine_vs_fp32(model, q.model, samples), 0.99);
}

TEST(StaticQuant, ChannelOfNearZeroWeightsGetsABiasSafeScale) {
  // Channel 1's weights are ~0 (PP-OCRv4 det has such a channel): max|w|/127 would make b / (s_in * s_w)
  // overflow int32 and keep the Conv float. Its scale is raised instead; its weights round to 0 anyway.
  Built m = conv_relu_conv(3, 1);
  auto& w = *m.model.proto().mutable_graph()->mutable_initializer(0);
  ASSERT_EQ(w.name(), "W1");
  Tensor wt = tensor_from_proto(w);
  for (int i = 27; i < 54; ++i) wt.as<float>()[i] = 1e-30f;
  tensor_to_proto(wt, "W1", w);
  const auto ranges = minmax_ranges(m.model, m.samples);
  StaticQuantization q = quantize_static(m.model, ranges, kVnni);
  ASSERT_TRUE(node_decision(q.plan, "conv1").quantized) << node_decision(q.plan, "conv1").reason;
  const auto wd = param_decisions(q.plan, "conv1", TensorRole::Weight);
  EXPECT_NE(wd[0]->reason.find("1 scale(s) raised so that the int32 bias fits"), std::string::npos) << wd[0]->reason;
  const Tensor bq = initializer(q.model, "B1_quantized");
  EXPECT_LE(std::abs(bq.as<int32_t>()[1]), 1 << 30);
  EXPECT_EQ(count_ops(optimized_graph(q.model), "QLinearConv"), 1);
  EXPECT_GT(cosine_vs_fp32(m.model, q.model, m.samples), 0.99);
}

TEST(StaticQuant, Int8ActivationsFoldReluWithZeroPointAtTheGridMinimum) {
  // Symmetric int8 would give the Relu output zero point 0, and ORT keeps a Relu unless the Q's zero
  // point is the grid minimum: the non-negative tensor gets zero point -128 (scale max/255) instead.
  const Built m = conv_relu_conv(3, 1);
  const auto ranges = minmax_ranges(m.model, m.samples);
  StaticPlanOptions opt = kVnni;
  opt.activations = QuantTarget::Int8Symmetric;
  StaticQuantization q = quantize_static(m.model, ranges, opt);
  EXPECT_EQ(node_decision(q.plan, "relu1").rule, "relu_folded");
  const TensorDecision* r1 = q.plan.activation("r1");
  ASSERT_NE(r1, nullptr);
  EXPECT_EQ(r1->dtype, DType::Int8);
  EXPECT_EQ(r1->zero_points[0], -128);
  EXPECT_DOUBLE_EQ(r1->scales[0], ranges.at("r1").max / 255.0);
  EXPECT_EQ(q.plan.activation("x")->zero_points[0], 0);  // everything else stays symmetric
  const Model optimized = optimized_graph(q.model);
  EXPECT_EQ(count_ops(optimized, "Relu"), 0);
  EXPECT_EQ(count_ops(optimized, "QLinearConv"), 1);
  EXPECT_GT(cosine_vs_fp32(m.model, q.model, m.samples), 0.99);
}
