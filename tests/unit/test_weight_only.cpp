// Weight-only quantization end to end on graphs built here: the plan (axes per op, skips and their
// reasons, 8-bit protection of embeddings and the output projection under --bits 4, shared weights),
// the rewrite (float originals gone, int4 packed at opset 21, MatMulNBits) and that ORT 1.30 runs the
// result and computes exactly with the dequantized weights.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <iostream>

#include "analysis/compare.h"
#include "core/errors.h"
#include "exec/executor.h"
#include "ir/graph.h"
#include "ir/tensor_proto.h"
#include "pipeline/weight_only_job.h"
#include "rewrite/quantize_weights_only.h"
#include "rewrite/upgrade_opset_past_converter.h"
#include "io/npy.h"
#include "support/file_bytes.h"
#include "support/graph_builder.h"
#include "support/temp_dir.h"

using namespace onnxquant;
using onnxquant::test::GraphBuilder;
using onnxquant::test::random_float_tensor;

namespace {

const WeightDecision& decision(const WeightOnlyPlan& p, const std::string& tensor, const std::string& consumer = {}) {
  for (const auto& w : p.weights)
    if (w.tensor == tensor && (consumer.empty() || w.consumer == consumer)) return w;
  throw std::runtime_error("no decision for " + tensor);
}

int count_ops(const Model& m, const std::string& op) {
  int n = 0;
  for (const auto& node : m.proto().graph().node()) n += node.op_type() == op;
  return n;
}

// x[1,64] -> MatMul(W1[64,128]) -> Relu -> Gemm(W2[32,128], transB=1, B2) -> y; plus a tiny Gemm weight.
Model mlp(int64_t opset = 13) {
  GraphBuilder b(opset);
  b.input("x", DType::Float32, {1, 64});
  b.output("y", DType::Float32, {1, 32});
  b.initializer("W1", random_float_tensor({64, 128}, 1));
  b.initializer("W2", random_float_tensor({32, 128}, 2));
  b.initializer("B2", random_float_tensor({32}, 3));
  b.node("MatMul", {"x", "W1"}, {"h"}, "fc1");
  b.node("Relu", {"h"}, {"r"}, "relu");
  auto& g = b.node("Gemm", {"r", "W2", "B2"}, {"y"}, "fc2");
  GraphBuilder::attr_int(g, "transB", 1);
  return b.build();
}

// Runs `q` and the float model with the weights replaced by the given dequantized values.
double max_diff(const Model& a, const Model& b, const NamedTensors& in) {
  Executor ea(a), eb(b);
  const auto x = ea.run(in), y = eb.run(in);
  double d = 0;
  for (const auto& [n, t] : x)
    for (size_t i = 0; i < t.as<float>().size(); ++i) d = std::max(d, double(std::fabs(t.as<float>()[i] - y.at(n).as<float>()[i])));
  return d;
}

// The FP32 model with every quantized weight replaced by its round-to-nearest dequantized values.
Model with_fake_quantized_weights(const Model& fp32, const WeightOnlyPlan& plan) {
  Model m = fp32.clone();
  for (auto& init : *m.proto().mutable_graph()->mutable_initializer())
    for (const auto& d : plan.weights)
      if (d.quantized && d.tensor == init.name()) {
        const Tensor w = tensor_from_proto(init);
        const auto deq = quantize_rtn(w, d.grid).dequantized();
        Tensor t(DType::Float32, w.shape);
        std::copy(deq.begin(), deq.end(), t.as<float>().begin());
        const std::string name = init.name();  // tensor_to_proto rewrites `init`, name included
        tensor_to_proto(t, name, init);
        break;
      }
  return m;
}

}  // namespace

TEST(WeightOnlyPlan, AxesPerOpAndReasons) {
  GraphBuilder b(13);
  b.input("x", DType::Float32, {1, 8, 6, 6});
  b.input("ids", DType::Int64, {1, 4});
  b.output("y", DType::Float32, {});
  b.output("e", DType::Float32, {});
  b.initializer("Wc", random_float_tensor({16, 8, 3, 3}, 1));
  b.initializer("Bc", random_float_tensor({16}, 2));
  b.initializer("Wt", random_float_tensor({16, 8, 3, 3}, 3));  // ConvTranspose [C_in, C_out, k, k]
  b.initializer("Wsmall", random_float_tensor({8, 8, 1, 1}, 4));
  b.initializer("E", random_float_tensor({100, 32}, 5));
  b.node("Conv", {"x", "Wc", "Bc"}, {"c"}, "conv");
  b.node("ConvTranspose", {"c", "Wt"}, {"t"}, "deconv");
  b.node("Conv", {"t", "Wsmall"}, {"y"}, "small");
  b.node("Gather", {"E", "ids"}, {"e"}, "embed");
  const WeightOnlyPlan p = plan_weight_only(b.build(), {});
  EXPECT_EQ(p.weights.size(), 4u);  // the bias is not a weight slot
  EXPECT_EQ(decision(p, "Wc").grid.axis, 0);
  EXPECT_EQ(decision(p, "Wt").grid.axis, 1);
  EXPECT_FALSE(decision(p, "Wsmall").quantized);
  EXPECT_EQ(decision(p, "Wsmall").reason, "fp32: 64 elements < --min-elements 1024");
  EXPECT_TRUE(decision(p, "E").quantized);
  EXPECT_EQ(decision(p, "E").grid.axis, 0);
  EXPECT_EQ(decision(p, "Wc").reason, "int8 symmetric per-channel axis 0");
}

TEST(WeightOnlyPlan, FourBitKeepsEmbeddingsAndOutputProjectionAt8UnlessAsked) {
  GraphBuilder b(13);
  b.input("ids", DType::Int64, {1, 4});
  b.output("y", DType::Float32, {});
  b.initializer("E", random_float_tensor({100, 64}, 1));
  b.initializer("W1", random_float_tensor({64, 64}, 2));
  b.initializer("W2", random_float_tensor({64, 100}, 3));
  b.node("Gather", {"E", "ids"}, {"e"}, "embed");
  b.node("MatMul", {"e", "W1"}, {"h"}, "fc1");
  b.node("Relu", {"h"}, {"r"}, "relu");
  b.node("MatMul", {"r", "W2"}, {"y"}, "head");
  WeightOnlyOptions o;
  o.bits = 4;
  o.block_size = 32;
  WeightOnlyPlan p = plan_weight_only(b.build(), o);
  EXPECT_EQ(decision(p, "E").grid.bits, 8);
  EXPECT_NE(decision(p, "E").reason.find("embedding table stays 8-bit"), std::string::npos);
  EXPECT_EQ(decision(p, "W2").grid.bits, 8);
  EXPECT_NE(decision(p, "W2").reason.find("output projection stays 8-bit"), std::string::npos);
  const auto& w1 = decision(p, "W1");
  EXPECT_EQ(w1.grid.bits, 4);
  EXPECT_EQ(w1.grid.grouping, WeightGrouping::Blocked);
  EXPECT_EQ(w1.grid.axis, 0);  // MatMul [K, N]: blocks along K
  EXPECT_TRUE(p.needs_int4_dequantize());
  o.bits_for = {{"head", 4}};
  p = plan_weight_only(b.build(), o);
  EXPECT_EQ(decision(p, "W2").grid.bits, 4);
  o.bits_for = {{"nothing", 4}};
  EXPECT_THROW(plan_weight_only(b.build(), o), UsageError);
}

TEST(WeightOnlyPlan, WeightAlsoReadInFloatStaysFloatEverywhere) {
  GraphBuilder b(13);
  b.input("x", DType::Float32, {2, 64});
  b.output("y", DType::Float32, {});
  b.output("z", DType::Float32, {});
  b.initializer("W", random_float_tensor({64, 64}, 1));
  b.node("MatMul", {"x", "W"}, {"y"}, "mm");
  b.node("Add", {"x", "W"}, {"z"}, "add");  // reads W as a plain tensor
  const WeightOnlyPlan p = plan_weight_only(b.build(), {});
  EXPECT_FALSE(decision(p, "W").quantized);
  EXPECT_NE(decision(p, "W").reason.find("also read in float by Add 'add'"), std::string::npos);
}

TEST(WeightOnly, Int8PerChannelComputesWithDequantizedWeightsAndDropsFloat) {
  const Model fp32 = mlp();
  WeightOnlyQuantization q = quantize_weights_only(fp32, {});
  EXPECT_EQ(q.plan.quantized_count(), 2);
  EXPECT_EQ(decision(q.plan, "W2").grid.axis, 0);  // Gemm transB=1
  EXPECT_EQ(count_ops(q.model, "DequantizeLinear"), 2);
  const Graph g(q.model.proto().graph());
  EXPECT_EQ(g.initializer("W1"), nullptr);
  EXPECT_EQ(g.initializer("W2"), nullptr);
  ASSERT_NE(g.initializer("B2"), nullptr);  // bias untouched, float
  EXPECT_EQ(g.initializer("B2")->data_type(), onnx::TensorProto::FLOAT);
  EXPECT_LT(q.model.byte_size(), fp32.byte_size() * 0.35);
  const NamedTensors in{{"x", random_float_tensor({1, 64}, 9)}};
  EXPECT_LT(max_diff(with_fake_quantized_weights(fp32, q.plan), q.model, in), 1e-4);
  EXPECT_GT(max_diff(fp32, q.model, in), 0.0);  // it really is quantized
}

TEST(WeightOnly, Int4BlockedAtOpset21RunsInOrt) {
  const Model fp32 = mlp();
  WeightOnlyOptions o;
  o.bits = 4;
  o.block_size = 32;
  o.bits_for = {{"fc2", 4}};
  WeightOnlyQuantization q = quantize_weights_only(fp32, o);
  EXPECT_EQ(q.model.opset(), 21);
  EXPECT_GE(q.model.proto().ir_version(), 10);
  const Graph g(q.model.proto().graph());
  const auto* packed = g.initializer("W1_int4");
  ASSERT_NE(packed, nullptr);
  EXPECT_EQ(packed->data_type(), 22);  // INT4
  EXPECT_EQ(packed->raw_data().size(), 64u * 128 / 2);
  const auto* scale = g.initializer("W1_int4_scale");
  ASSERT_NE(scale, nullptr);
  EXPECT_EQ(std::vector<int64_t>(scale->dims().begin(), scale->dims().end()), (std::vector<int64_t>{2, 128}));
  const NamedTensors in{{"x", random_float_tensor({1, 64}, 9)}};
  EXPECT_LT(max_diff(with_fake_quantized_weights(fp32, q.plan), q.model, in), 1e-4);
  // ~ 1/8 of float plus scales: well under a fifth.
  EXPECT_LT(q.model.byte_size(), fp32.byte_size() / 5);
}

TEST(WeightOnly, MatMulNBitsMatchesBlockedDequantization) {
  const Model fp32 = mlp();
  for (auto scheme : {WeightScheme::Symmetric, WeightScheme::Asymmetric}) {
    WeightOnlyOptions o;
    o.bits = 4;
    o.block_size = 32;
    o.matmul_nbits = true;
    o.accuracy_level = 1;  // fp32 compute: exact against the dequantized weights
    o.scheme = scheme;
    WeightOnlyQuantization q = quantize_weights_only(fp32, o);
    EXPECT_EQ(count_ops(q.model, "MatMulNBits"), 1);
    EXPECT_EQ(q.model.opset("com.microsoft"), 1);
    EXPECT_EQ(q.model.opset(), 13);  // no int4 DequantizeLinear: no upgrade
    const NamedTensors in{{"x", random_float_tensor({1, 64}, 9)}};
    EXPECT_LT(max_diff(with_fake_quantized_weights(fp32, q.plan), q.model, in), 1e-4);
  }
}

TEST(WeightOnly, SharedWeightGetsOneCopyAndStaysCorrectForEveryReader) {
  GraphBuilder b(13);
  b.input("x", DType::Float32, {1, 64});
  b.output("y", DType::Float32, {1, 64});
  b.initializer("W", random_float_tensor({64, 64}, 1));
  b.node("MatMul", {"x", "W"}, {"h"}, "a");
  b.node("MatMul", {"h", "W"}, {"y"}, "b");
  const Model fp32 = b.build();
  WeightOnlyQuantization q = quantize_weights_only(fp32, {});
  EXPECT_EQ(count_ops(q.model, "DequantizeLinear"), 1);
  const NamedTensors in{{"x", random_float_tensor({1, 64}, 9)}};
  EXPECT_LT(max_diff(with_fake_quantized_weights(fp32, q.plan), q.model, in), 1e-4);
}

TEST(UpgradeOpsetPastConverter, ReduceAxesBecomeAnInputAndResultsAgree) {
  GraphBuilder b(16);
  b.input("x", DType::Float32, {2, 3, 4});
  b.output("y", DType::Float32, {});
  auto& r = b.node("ReduceMean", {"x"}, {"y"}, "mean");
  GraphBuilder::attr_ints(r, "axes", {-1});
  const Model before = b.build();
  Model after = before.clone();
  const PassReport rep = UpgradeOpsetPastConverter(21).run(after);
  EXPECT_EQ(rep.changes, 1);
  EXPECT_EQ(after.opset(), 21);
  const auto& n = after.proto().graph().node(0);
  EXPECT_EQ(n.attribute_size(), 0);
  ASSERT_EQ(n.input_size(), 2);
  const NamedTensors in{{"x", random_float_tensor({2, 3, 4}, 5)}};
  EXPECT_LT(max_diff(before, after, in), 1e-6);
}

TEST(UpgradeOpsetPastConverter, RefusesGridSampleNamingTheNode) {
  GraphBuilder b(16);
  b.input("x", DType::Float32, {1, 1, 4, 4});
  b.input("grid", DType::Float32, {1, 4, 4, 2});
  b.output("y", DType::Float32, {});
  b.node("GridSample", {"x", "grid"}, {"y"}, "sampler");
  Model m = b.build();
  try {
    UpgradeOpsetPastConverter(21).run(m);
    FAIL() << "expected UnsupportedOpError";
  } catch (const UnsupportedOpError& e) {
    EXPECT_NE(std::string(e.what()).find("GridSample 'sampler'"), std::string::npos);
  }
}

TEST(WeightOnlyPlan, OnlyTheLastResidualBlockProjectionCountsAsOutputProjection) {
  // x -> MatMul(W1) -> Add(x) -> MatMul(W2) -> Add(residual) -> y: both MatMuls reach y through Adds.
  GraphBuilder b(13);
  b.input("x", DType::Float32, {2, 64});
  b.output("y", DType::Float32, {});
  b.initializer("W1", random_float_tensor({64, 64}, 1));
  b.initializer("W2", random_float_tensor({64, 64}, 2));
  b.node("MatMul", {"x", "W1"}, {"h1"}, "block1");
  b.node("Add", {"x", "h1"}, {"r1"}, "res1");
  b.node("MatMul", {"r1", "W2"}, {"h2"}, "block2");
  b.node("Add", {"r1", "h2"}, {"y"}, "res2");
  WeightOnlyOptions o;
  o.bits = 4;
  const WeightOnlyPlan p = plan_weight_only(b.build(), o);
  EXPECT_EQ(decision(p, "W1").grid.bits, 4);
  EXPECT_EQ(decision(p, "W2").grid.bits, 8);
}

TEST(WeightOnlyPlan, SharedWeightIsStoredOnceAtTheBitsItsMostDemandingReaderNeeds) {
  // W feeds block1 (4-bit) and the output projection (8-bit): one 8-bit copy, not an int4 and an int8 one.
  GraphBuilder b(13);
  b.input("x", DType::Float32, {2, 64});
  b.output("y", DType::Float32, {});
  b.initializer("W", random_float_tensor({64, 64}, 1));
  b.node("MatMul", {"x", "W"}, {"h"}, "block1");
  b.node("Relu", {"h"}, {"r"}, "relu");
  b.node("MatMul", {"r", "W"}, {"y"}, "head");
  WeightOnlyOptions o;
  o.bits = 4;
  const Model fp32 = b.build();
  const WeightOnlyQuantization q = quantize_weights_only(fp32, o);
  EXPECT_EQ(decision(q.plan, "W", "block1").grid.bits, 8);
  EXPECT_NE(decision(q.plan, "W", "block1").reason.find("stored once"), std::string::npos);
  EXPECT_EQ(count_ops(q.model, "DequantizeLinear"), 1);
  EXPECT_EQ(q.model.opset(), 13);  // no 4-bit tensor left: no upgrade
}

TEST(WeightOnly, SharedMatMulNBitsWeightIsPackedOnce) {
  GraphBuilder b(13);
  b.input("x", DType::Float32, {1, 64});
  b.output("y", DType::Float32, {1, 64});
  b.initializer("W", random_float_tensor({64, 64}, 1, -0.25f, 0.25f));
  b.initializer("H", random_float_tensor({64, 64}, 2, -0.25f, 0.25f));
  b.node("MatMul", {"x", "W"}, {"h1"}, "a");
  b.node("MatMul", {"h1", "W"}, {"h2"}, "b");
  b.node("MatMul", {"h2", "H"}, {"y"}, "head");
  WeightOnlyOptions o;
  o.bits = 4;
  o.matmul_nbits = true;
  o.accuracy_level = 1;
  const Model fp32 = b.build();
  const WeightOnlyQuantization q = quantize_weights_only(fp32, o);
  EXPECT_EQ(count_ops(q.model, "MatMulNBits"), 2);
  int packed = 0;
  for (const auto& t : q.model.proto().graph().initializer()) packed += t.data_type() == onnx::TensorProto::UINT8 && t.dims_size() == 3;
  EXPECT_EQ(packed, 1);
  const NamedTensors in{{"x", random_float_tensor({1, 64}, 9)}};
  // Chained MatMulNBits drift by ~1e-2 from a float reference even at accuracy_level 1 (the single-node
  // test above is exact), so here agreement is checked as cosine.
  Executor ref(with_fake_quantized_weights(fp32, q.plan)), got(q.model);
  EXPECT_GT(compare_tensors(ref.run(in).at("y"), got.run(in).at("y")).cosine, 0.9999);
}

// Stage by stage (pipeline/sequential_gptq.h): the Gemm behind the quantized MatMul is rounded against
// the inputs the quantized MatMul really gives it, towards the FP32 output, and its float bias takes the
// mean error left. On held-out inputs that beats GPTQ from FP32 statistics alone.
TEST(WeightOnly, StageByStageGptqCorrectsTheErrorOfEarlierLayers) {
  const Model fp32 = mlp();
  std::vector<NamedTensors> calib, fresh;
  for (unsigned i = 0; i < 600; ++i) calib.push_back({{"x", random_float_tensor({1, 64}, 100 + i)}});
  for (unsigned i = 0; i < 200; ++i) fresh.push_back({{"x", random_float_tensor({1, 64}, 5000 + i)}});
  WeightOnlyOptions o;
  o.bits = 4;
  o.block_size = 32;
  HessianOptions one, staged;
  one.stages = 1;
  one.progress = staged.progress = ProgressMode::Off;
  staged.stages = 0;
  const WeightOnlyQuantization a = quantize_weights_only(fp32, o, calib, one);
  const WeightOnlyQuantization b = quantize_weights_only(fp32, o, calib, staged);
  EXPECT_EQ(a.gptq.stages, 1);
  EXPECT_EQ(a.gptq.corrected_biases, 0);
  EXPECT_EQ(b.gptq.stages, 2);
  EXPECT_EQ(b.gptq.weights, 2);
  EXPECT_EQ(b.gptq.corrected_biases, 1);  // B2; the MatMul has no bias
  const Graph g(b.model.proto().graph());
  ASSERT_NE(g.initializer("B2"), nullptr);
  EXPECT_NE(tensor_from_proto(*g.initializer("B2")).as<float>()[0], random_float_tensor({32}, 3).as<float>()[0]);
  Executor ref(fp32), ea(a.model), eb(b.model);
  CompareAccumulator ca, cb;
  for (const auto& in : fresh) {
    const Tensor y = ref.run(in).at("y");
    ca.add(y, ea.run(in).at("y"));
    cb.add(y, eb.run(in).at("y"));
  }
  const double ea_loss = 1 - ca.stats().cosine, eb_loss = 1 - cb.stats().cosine;
  std::cout << "  4-bit MLP, held-out 1 - cosine: one stage " << ea_loss << ", stage by stage " << eb_loss << " (" << b.gptq.compensated
            << " weight(s) compensated)\n";
  EXPECT_LT(eb_loss, 0.9 * ea_loss);
}

// `--gptq-stages auto` (the request's default): on a small model both ways are rounded, each judged
// against FP32 on the calibration samples, and the closer one is written; above the size limit only one
// stage runs, and the result says why. A given stage count is used as it is.
TEST(WeightOnly, AutoStagesKeepsTheRoundingCloserToFp32OnTheCalibrationSamples) {
  test::TempDir dir;
  mlp().save(dir / "mlp.onnx");
  write_npy(dir / "calib.npy", random_float_tensor({64, 1, 64}, 77));
  WeightOnlyRequest r;
  r.model = dir / "mlp.onnx";
  r.inputs.files = {(dir / "calib.npy").string()};
  r.plan.bits = 4;
  r.plan.block_size = 32;
  r.progress = ProgressMode::Off;
  r.output = dir / "auto.onnx";
  const WeightOnlyResult a = quantize_model_weights_only(r);
  ASSERT_TRUE(a.stage_choice.tried);
  EXPECT_GT(a.stage_choice.one_stage_cosine, 0.9);
  EXPECT_GT(a.stage_choice.per_layer_cosine, 0.9);
  EXPECT_NE(a.stage_choice.one_stage_cosine, a.stage_choice.per_layer_cosine);
  const bool per_layer = a.stage_choice.per_layer_cosine > a.stage_choice.one_stage_cosine;
  EXPECT_EQ(a.stage_choice.kept, per_layer ? "per_layer" : "one_stage");
  EXPECT_EQ(a.gptq.stages, per_layer ? 2 : 1);
  EXPECT_EQ(to_json(a)["gptq"]["stage_choice"]["kept"], a.stage_choice.kept);

  // The kept model is the one a fixed stage count writes: same bytes.
  r.hessian.stages = per_layer ? 0 : 1;
  r.output = dir / "fixed.onnx";
  const WeightOnlyResult f = quantize_model_weights_only(r);
  EXPECT_FALSE(f.stage_choice.tried);
  EXPECT_TRUE(f.stage_choice.why_not_tried.empty());
  EXPECT_EQ(test::file_bytes(dir / "auto.onnx"), test::file_bytes(dir / "fixed.onnx"));

  r.hessian.stages = kGptqStagesAuto;
  r.auto_stages_max_bytes = 1024;  // the MLP is bigger than that
  r.output = dir / "big.onnx";
  const WeightOnlyResult big = quantize_model_weights_only(r);
  EXPECT_FALSE(big.stage_choice.tried);
  EXPECT_EQ(big.gptq.stages, 1);
  EXPECT_NE(big.stage_choice.why_not_tried.find("one stage only"), std::string::npos) << big.stage_choice.why_not_tried;
}
