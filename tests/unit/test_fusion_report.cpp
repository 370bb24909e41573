// The fusion report against a hand count: a small QDQ model built here, run through ORT 1.30's optimizer.
// What ORT does with it (checked by dumping its optimized graph):
//   DQ -> Conv -> Q            -> com.microsoft:QLinearConv (NHWC, with Transposes at the region's borders)
//   DQ -> Sigmoid -> Q         -> com.microsoft:QLinearSigmoid
//   DQ -> Add -> Q             -> com.microsoft:QLinearAdd
//   DQ -> MatMul -> Q          -> QLinearMatMul
//   DQ -> MaxPool -> Q         -> com.microsoft:NhwcMaxPool, ORT's uint8 MaxPool (Q/DQ pair dropped)
//   DQ -> Reshape -> Q         -> Reshape on the uint8 tensor (Q/DQ pair dropped): "int8", no kernel needed
//   DQ -> Tanh -> Q            stays float: ORT has no integer Tanh kernel
//   DQ -> Sigmoid -> (output)  stays float: nothing quantizes its result, so there is no group to fuse
#include <gtest/gtest.h>

#include "analysis/fusion_report.h"
#include "exec/optimized_graph.h"
#include "support/graph_builder.h"

using namespace onnxquant;
using onnxquant::test::GraphBuilder;

namespace {

Tensor scalar(DType type, double v) {
  Tensor t(type, {});
  if (type == DType::Float32) t.as<float>()[0] = static_cast<float>(v);
  else if (type == DType::UInt8) t.as<uint8_t>()[0] = static_cast<uint8_t>(v);
  else t.as<int8_t>()[0] = static_cast<int8_t>(v);
  return t;
}

Tensor int8_weights(const Shape& shape) {
  Tensor w(DType::Int8, shape);
  auto v = w.as<int8_t>();
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int8_t>(static_cast<int>((i * 37) % 255) - 127);
  return w;
}

Model hand_built_qdq_model() {
  GraphBuilder b(13);
  b.input("x", DType::Float32, {1, 4, 8, 8});
  for (const char* out : {"y_sig", "y_tanh", "y_sig_float", "y_add"}) b.output(out, DType::Float32, {1, 4, 8, 8});
  b.output("y_mp", DType::Float32, {1, 4, 4, 4}).output("y_mm", DType::Float32, {1, 4, 8, 4}).output("y_rs", DType::Float32, {1, 256});
  b.initializer("s", scalar(DType::Float32, 0.02)).initializer("zp", scalar(DType::UInt8, 128));
  b.initializer("w_s", scalar(DType::Float32, 0.01)).initializer("w_zp", scalar(DType::Int8, 0));
  b.initializer("w_q", int8_weights({4, 4, 3, 3})).initializer("m_q", int8_weights({8, 4}));
  auto dq = [&](const std::string& in, const std::string& out) { b.node("DequantizeLinear", {in, "s", "zp"}, {out}, "dq_" + out); };
  auto q = [&](const std::string& in, const std::string& out) { b.node("QuantizeLinear", {in, "s", "zp"}, {out}, "q_" + out); };
  q("x", "x_q");
  dq("x_q", "x_dq");
  b.node("DequantizeLinear", {"w_q", "w_s", "w_zp"}, {"w_dq"}, "dq_w");
  GraphBuilder::attr_ints(b.node("Conv", {"x_dq", "w_dq"}, {"c"}, "conv"), "pads", {1, 1, 1, 1});
  q("c", "c_q");
  dq("c_q", "c_dq1");
  b.node("Sigmoid", {"c_dq1"}, {"sig"}, "sigmoid");
  q("sig", "sig_q");
  dq("sig_q", "y_sig");
  dq("c_q", "c_dq2");
  b.node("Tanh", {"c_dq2"}, {"th"}, "tanh");
  q("th", "th_q");
  dq("th_q", "y_tanh");
  dq("c_q", "c_dq3");
  b.node("Sigmoid", {"c_dq3"}, {"y_sig_float"}, "sigmoid_float");
  dq("c_q", "c_dq4");
  auto& mp = b.node("MaxPool", {"c_dq4"}, {"mp"}, "maxpool");
  GraphBuilder::attr_ints(mp, "kernel_shape", {2, 2});
  GraphBuilder::attr_ints(mp, "strides", {2, 2});
  q("mp", "mp_q");
  dq("mp_q", "y_mp");
  dq("c_q", "c_dq7");
  b.initializer_i64("shape", {1, 256}, {2});
  b.node("Reshape", {"c_dq7", "shape"}, {"rs"}, "reshape");
  q("rs", "rs_q");
  dq("rs_q", "y_rs");
  dq("c_q", "c_dq5");
  b.node("Add", {"c_dq5", "x_dq"}, {"ad"}, "add");
  q("ad", "ad_q");
  dq("ad_q", "y_add");
  b.node("DequantizeLinear", {"m_q", "w_s", "w_zp"}, {"m_dq"}, "dq_m");
  dq("c_q", "c_dq6");
  b.node("MatMul", {"c_dq6", "m_dq"}, {"mm"}, "matmul");
  q("mm", "mm_q");
  dq("mm_q", "y_mm");
  return b.build();
}

const QuantizedOp& op_named(const FusionReport& r, const std::string& node) {
  for (const auto& q : r.quantized_ops)
    if (q.node == node) return q;
  throw std::runtime_error("no quantized op " + node);
}

}  // namespace

TEST(FusionReport, CountsAgreeWithAHandCount) {
  const Model model = hand_built_qdq_model();
  const FusionReport r = fusion_report(model);

  // Hand count of the model file: 8 quantized ops, 8 Q and 16 DQ.
  EXPECT_EQ(r.quantize_in_model, 8);
  EXPECT_EQ(r.dequantize_in_model, 16);
  ASSERT_EQ(r.quantized_ops.size(), 8u);
  EXPECT_EQ(r.total.quantized, 8);
  EXPECT_EQ(r.total.fused, 5);   // Conv, Sigmoid, Add, MatMul, MaxPool
  EXPECT_EQ(r.total.int8, 1);    // Reshape
  EXPECT_EQ(r.total.float_, 2);  // Tanh, Sigmoid without a Q after it
  EXPECT_EQ(r.total.unknown, 0);

  EXPECT_EQ(op_named(r, "conv").status, FusionStatus::Fused);
  EXPECT_EQ(op_named(r, "conv").runs_as, "com.microsoft:QLinearConv");
  EXPECT_EQ(op_named(r, "sigmoid").runs_as, "com.microsoft:QLinearSigmoid");
  EXPECT_EQ(op_named(r, "add").runs_as, "com.microsoft:QLinearAdd");
  EXPECT_EQ(op_named(r, "matmul").runs_as, "QLinearMatMul");
  EXPECT_EQ(op_named(r, "maxpool").runs_as, "com.microsoft:NhwcMaxPool");
  EXPECT_EQ(op_named(r, "reshape").status, FusionStatus::Int8);
  EXPECT_EQ(op_named(r, "reshape").runs_as, "Reshape");
  EXPECT_EQ(op_named(r, "tanh").status, FusionStatus::Float);
  EXPECT_NE(op_named(r, "tanh").reason.find("no integer kernel"), std::string::npos) << op_named(r, "tanh").reason;
  EXPECT_EQ(op_named(r, "sigmoid_float").status, FusionStatus::Float);
  EXPECT_NE(op_named(r, "sigmoid_float").reason.find("not quantized"), std::string::npos) << op_named(r, "sigmoid_float").reason;

  EXPECT_EQ(r.by_op.at("Sigmoid").quantized, 2);
  EXPECT_EQ(r.by_op.at("Sigmoid").fused, 1);
  EXPECT_EQ(r.by_op.at("Sigmoid").float_, 1);

  // At run time: the input's Q and the Tanh's Q remain; DQs remain in front of the two float ops and in
  // front of each of the six quantized graph outputs.
  EXPECT_EQ(r.quantize_at_runtime, 2);
  EXPECT_EQ(r.dequantize_at_runtime, 8);
  EXPECT_EQ(r.integer_kernels.at("com.microsoft:QLinearConv"), 1);
  EXPECT_EQ(r.integer_kernels.at("com.microsoft:NhwcMaxPool"), 1);
  EXPECT_EQ(r.integer_kernel_total, 5);  // QLinearConv, QLinearSigmoid, QLinearAdd, QLinearMatMul, NhwcMaxPool
}

TEST(FusionReport, FloatModelHasNoQuantizedOps) {
  GraphBuilder b;
  b.input("x", DType::Float32, {1, 2, 4, 4}).output("y", DType::Float32, {1, 2, 4, 4});
  b.initializer("w", test::random_float_tensor({2, 2, 1, 1}, 1));
  b.node("Conv", {"x", "w"}, {"c"});
  b.node("Relu", {"c"}, {"y"});
  const FusionReport r = fusion_report(b.build());
  EXPECT_TRUE(r.quantized_ops.empty());
  EXPECT_EQ(r.integer_kernel_total, 0);
  EXPECT_EQ(r.quantize_at_runtime + r.dequantize_at_runtime, 0);
  EXPECT_FALSE(r.runtime_version.empty());
}

TEST(FusionReport, KernelTableLookup) {
  ASSERT_NE(find_integer_kernel("", "QLinearConv"), nullptr);
  EXPECT_STREQ(find_integer_kernel("ai.onnx", "QLinearConv")->replaces, "Conv");
  EXPECT_STREQ(find_integer_kernel("com.microsoft", "QGemm")->replaces, "Gemm");
  EXPECT_STREQ(find_integer_kernel("com.microsoft", "DynamicQuantizeMatMul")->kind, "dynamic");
  EXPECT_EQ(find_integer_kernel("", "QGemm"), nullptr);  // QGemm exists only in com.microsoft
  EXPECT_EQ(find_integer_kernel("", "Conv"), nullptr);
  for (const auto& k : integer_kernels()) EXPECT_NE(std::string(k.replaces), std::string(k.op_type));
}

TEST(FusionReport, PureCountingMatchesByNameAndOutput) {
  // Quantized model: DQ -> Conv "conv" -> Q; "optimized": ORT's renamed fused node plus a leftover DQ.
  GraphBuilder qb;
  qb.node("DequantizeLinear", {"a_q", "s", "zp"}, {"a"}, "dq");
  qb.node("Conv", {"a", "w"}, {"c"}, "conv");
  qb.node("QuantizeLinear", {"c", "s", "zp"}, {"c_q"}, "q");
  GraphBuilder ob;
  ob.node("QLinearConv", {"a_q", "s", "zp", "w", "s", "zp", "s", "zp"}, {"c_q"}, "conv_token_7", "com.microsoft");
  const FusionReport r = fusion_report(qb.build(), ob.build());
  ASSERT_EQ(r.quantized_ops.size(), 1u);
  EXPECT_EQ(r.quantized_ops[0].status, FusionStatus::Fused);
  EXPECT_EQ(r.quantized_ops[0].runs_as, "com.microsoft:QLinearConv");
  EXPECT_EQ(r.quantize_at_runtime, 0);
  EXPECT_EQ(r.nodes_at_runtime, 1);
}
