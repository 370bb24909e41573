// Static INT8 on real models: quantize from a ranges file, check the result in ORT against FP32 on eval
// rows never used for calibration, and count what ORT fused. Numbers pin today's behaviour.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "analysis/compare.h"
#include "exec/executor.h"
#include "io/npy.h"
#include "ir/model.h"
#include "pipeline/calibrate_job.h"
#include "pipeline/quantize_job.h"
#include "support/cli_runner.h"
#include "support/corpus.h"
#include "support/temp_dir.h"

using namespace onnxquant;

namespace {

struct Outcome {
  double cosine = 0;
  int64_t convs_quantized = 0, convs_fused = 0;
  FusionReport fusion;
};

struct Data {
  std::string calib = "data/imagenet224/calib.npy", eval = "data/imagenet224/eval.npy";
};

Outcome quantize_and_check(const std::string& model_rel, int64_t calib_rows, int64_t eval_rows, const test::TempDir& dir, const Data& data = {}) {
  const auto model = test::corpus_dir() / model_rel;
  CalibrateRequest c;
  c.model = model;
  c.inputs.files = {(test::corpus_dir() / data.calib).string()};
  c.inputs.max_samples = calib_rows;
  c.output = dir / "ranges.json";
  c.progress = ProgressMode::Off;
  calibrate_model(c);
  QuantizeRequest q;
  q.model = model;
  q.output = dir / "int8.onnx";
  q.ranges_file = dir / "ranges.json";
  q.progress = ProgressMode::Off;
  const QuantizeResult r = quantize_model(q);
  EXPECT_TRUE(r.written);
  Outcome o;
  o.fusion = r.fusion;
  if (auto it = r.fusion.by_op.find("Conv"); it != r.fusion.by_op.end()) {
    o.convs_quantized = it->second.quantized;
    o.convs_fused = it->second.fused;
  }
  Executor fp32(model), int8(dir / "int8.onnx");
  NpyReader eval(test::corpus_dir() / data.eval);
  CompareAccumulator acc;
  for (int64_t row = 0; row < eval_rows; ++row) {
    const NamedTensors in{{fp32.inputs()[0].name, eval.read_rows(row, 1)}};
    acc.add(fp32.run(in).begin()->second, int8.run(in).begin()->second);
  }
  o.cosine = acc.stats().cosine;
  std::cout << "  " << model_rel << ": cosine " << o.cosine << " on " << eval_rows << " eval rows, " << o.convs_fused << " of "
            << o.convs_quantized << " quantized Convs run as QLinearConv\n";
  return o;
}

}  // namespace

TEST(QuantizeCorpus, Resnet50AllConvsFused) {
  ONNXQ_REQUIRE_CORPUS();
  test::TempDir dir;
  const Outcome o = quantize_and_check("torch/resnet50.onnx", 8, 8, dir);
  EXPECT_EQ(o.convs_quantized, 53);
  EXPECT_EQ(o.convs_fused, 53);
  EXPECT_GT(o.cosine, 0.98);
}

TEST(QuantizeCorpus, SqueezenetAllConvsFused) {
  // 18 of its 26 Conv biases are shared through Identity nodes: read through them, every Conv fuses.
  ONNXQ_REQUIRE_CORPUS();
  test::TempDir dir;
  const Outcome o = quantize_and_check("torch/squeezenet1_1.onnx", 8, 16, dir);
  EXPECT_GT(o.cosine, 0.99);
  EXPECT_EQ(o.convs_quantized, 26);
  EXPECT_EQ(o.convs_fused, 26);
  EXPECT_EQ(o.fusion.integer_kernels.at("com.microsoft:QLinearConcat"), 8);
  EXPECT_EQ(o.fusion.quantize_at_runtime, 1);  // the input's
}

TEST(QuantizeCorpus, MobilenetV2ReluSixFoldsIntoEveryConv) {
  // Clip(0, 6) behind each Conv is removed by ORT (ClipQuantFusion): no float op between the integer convs.
  ONNXQ_REQUIRE_CORPUS();
  test::TempDir dir;
  const Outcome o = quantize_and_check("torch/mobilenet_v2.onnx", 16, 16, dir);
  EXPECT_EQ(o.convs_quantized, 52);
  EXPECT_EQ(o.convs_fused, 52);
  EXPECT_EQ(o.fusion.quantize_at_runtime, 1);
  EXPECT_EQ(o.fusion.dequantize_at_runtime, 0);  // the classifier Gemm writes the graph output as QGemm in float: no DQ left
  EXPECT_GT(o.cosine, 0.96);  // 0.969 measured; minmax activations are mobilenet_v2's known weak spot
}

TEST(QuantizeCorpus, PaddleOcrDetectionStaysInIntegers) {
  // PP-OCRv4 det (Paddle2ONNX, opset 11, Constant-node weights): every Conv fuses, hardswish's Div by 6
  // runs as QLinearMul, the squeeze-excitation HardSigmoids fold into their Conv as Clip(0, 1), Resize
  // runs on uint8; only the head (BatchNormalization, ConvTranspose, the output Sigmoid) stays float:
  // one Q (the input) and one DQ pair in front of the head remain at run time.
  ONNXQ_REQUIRE_CORPUS();
  test::TempDir dir;
  const Outcome o = quantize_and_check("npm/ocr/ch_PP-OCRv4_det_infer.onnx", 4, 2, dir, {"data/ocr/det_calib.npy", "data/ocr/det_eval.npy"});
  EXPECT_EQ(o.convs_quantized, 62);
  EXPECT_EQ(o.convs_fused, 62);
  EXPECT_EQ(o.fusion.by_op.count("Div"), 0u);
  EXPECT_EQ(o.fusion.by_op.count("HardSigmoid"), 0u);
  EXPECT_GE(o.fusion.integer_kernels.at("com.microsoft:QLinearMul"), 110);
  EXPECT_LE(o.fusion.quantize_at_runtime, 2);
  EXPECT_GT(o.cosine, 0.94);  // 0.955 measured (minmax ranges from 4 scenes)
}

TEST(QuantizeCorpus, TransformerKeepsAttentionScoresAndLayerNormFloat) {
  // PyTorch's encoder: decomposed LayerNorm and attention scores stay float (protected); the projections,
  // feed-forward Gemms/MatMuls and residual Adds run in integers. ORT must not run the score MatMuls on
  // integers behind the plan's back (MatMulIntegerToFloat from two DQ inputs).
  ONNXQ_REQUIRE_CORPUS();
  test::TempDir dir;
  const Outcome o = quantize_and_check("torch/transformer_encoder_d256_l4.onnx", 8, 8, dir,
                                       {"data/audio/transformer/calib.npy", "data/audio/transformer/eval.npy"});
  EXPECT_EQ(o.fusion.integer_kernels.count("com.microsoft:MatMulIntegerToFloat"), 0u);
  EXPECT_EQ(o.fusion.integer_kernels.at("com.microsoft:QGemm"), 4);
  EXPECT_GE(o.fusion.integer_kernels.at("QLinearMatMul"), 8);
  EXPECT_GT(o.cosine, 0.99);
}

TEST(QuantizeCorpus, DryRunPlanNamesTheTargetCpuAndTheHead) {
  // --target-cpu avx2 plans for a machine without VNNI: 7-bit weights by default, and the plan says why;
  // --keep-fp32-head keeps squeezenet's classifier Conv (and the pooling after it) in float.
  ONNXQ_REQUIRE_CORPUS();
  test::TempDir dir;
  auto r = test::run_cli("quantize " + (test::corpus_dir() / "torch/squeezenet1_1.onnx").string() + " --static-int8 -i " +
                         (test::corpus_dir() / "data/imagenet224/calib.npy").string() +
                         " -n 2 --dry-run --target-cpu avx2 --keep-fp32-head --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto plan = nlohmann::json::parse(r.out).at("plan");
  EXPECT_EQ(plan.at("target_cpu").at("isa"), "avx2");
  EXPECT_EQ(plan.at("target_cpu").at("source"), "--target-cpu");
  EXPECT_EQ(plan.at("reduce_range").at("enabled"), true);
  int head = 0;
  for (const auto& n : plan.at("nodes"))
    if (n.at("reason").get<std::string>().rfind("protected: --keep-fp32-head", 0) == 0) ++head;
  EXPECT_EQ(head, 4);  // classifier Conv, Relu, GlobalAveragePool, Flatten
  for (const auto& t : plan.at("tensors")) {
    if (t.at("role") == "weight") {
      EXPECT_EQ(t.at("integer_range"), nlohmann::json({-64, 63}));
    }
  }
  auto bad = test::run_cli("quantize " + (test::corpus_dir() / "torch/squeezenet1_1.onnx").string() +
                           " --static-int8 --ranges x.json --dry-run --reduce-range --no-reduce-range");
  EXPECT_NE(bad.exit_code, 0);
}

TEST(QuantizeCorpus, RangesOfAnotherModelAreRefusedAndNothingIsWritten) {
  ONNXQ_REQUIRE_CORPUS();
  test::TempDir dir;
  CalibrateRequest c;
  c.model = test::corpus_dir() / "torch/squeezenet1_1.onnx";
  c.inputs.max_samples = 1;
  c.output = dir / "sq.json";
  c.progress = ProgressMode::Off;
  calibrate_model(c);
  auto r = test::run_cli("quantize " + (test::corpus_dir() / "torch/mobilenet_v2.onnx").string() + " --static-int8 --ranges " +
                         (dir / "sq.json").string() + " -o " + (dir / "out.onnx").string());
  EXPECT_EQ(r.exit_code, 8) << r.err;
  EXPECT_NE(r.err.find("sha256"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out.onnx"));
}

TEST(QuantizeCorpus, ReportPageForTheModelJustMade) {
  ONNXQ_REQUIRE_CORPUS();
  test::TempDir dir;
  auto r = test::run_cli("quantize " + (test::corpus_dir() / "torch/squeezenet1_1.onnx").string() + " --static-int8 -i " +
                         (test::corpus_dir() / "data/imagenet224/calib.npy").string() + " -n 4 --report-samples 2 -o " +
                         (dir / "q.onnx").string() + " --report " + (dir / "q.html").string() + " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("report"), (dir / "q.html").string());
  const std::string page = test::file_bytes(dir / "q.html");
  EXPECT_NE(page.find("<svg"), std::string::npos);
  EXPECT_NE(page.find("onnxquant quantize"), std::string::npos);  // the exact command is on the page
  EXPECT_EQ(page.find("<script src"), std::string::npos);          // self-contained
}
