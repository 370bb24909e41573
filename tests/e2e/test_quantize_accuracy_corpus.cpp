// Issue 7 (static INT8 accuracy): quantize each corpus classifier with default options, calibrating on
// the calib split, and measure fidelity to FP32 on the eval split (never used for calibration). The
// bounds pin what the default pipeline reaches today (docs/static-int8-accuracy.md); each also
// states ORT's quantizer (QDQ, MinMax) on the same data for comparison.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>

#include "analysis/compare.h"
#include "exec/executor.h"
#include "io/npy.h"
#include "pipeline/quantize_job.h"
#include "support/corpus.h"
#include "support/temp_dir.h"

using namespace onnxquant;

namespace {

struct Fidelity {
  double cosine = 0;  // mean over eval rows of each row's cosine
  double sqnr_db = 0;
  double mask_iou = 0;  // text-mask IoU (p > 0.3) over all eval rows, summed
  QuantizeResult result;
};

struct Data {
  std::string calib = "data/imagenet224/calib.npy", eval = "data/imagenet224/eval.npy";
};

Fidelity quantize_and_measure(const std::string& model_rel, int64_t eval_rows, const AccuracyOptions& accuracy = {}, const Data& data = {}) {
  test::TempDir dir;
  const auto model = test::corpus_dir() / model_rel;
  QuantizeRequest q;
  q.model = model;
  q.output = dir / "int8.onnx";
  q.inputs.files = {(test::corpus_dir() / data.calib).string()};
  q.accuracy = accuracy;
  q.progress = ProgressMode::Off;
  Fidelity f;
  f.result = quantize_model(q);
  EXPECT_TRUE(f.result.written);
  Executor fp32(model), int8(dir / "int8.onnx");
  NpyReader eval(test::corpus_dir() / data.eval);
  CompareAccumulator all;
  double cosine_sum = 0;
  int64_t inter = 0, uni = 0;
  const int64_t rows = std::min<int64_t>(eval_rows, static_cast<int64_t>(eval.shape()[0]));
  for (int64_t row = 0; row < rows; ++row) {
    const NamedTensors in{{fp32.inputs()[0].name, eval.read_rows(row, 1)}};
    const Tensor want = fp32.run(in).begin()->second, got = int8.run(in).begin()->second;
    cosine_sum += compare_tensors(want, got).cosine;
    all.add(want, got);
    for (size_t i = 0; i < want.as<float>().size(); ++i) {
      const bool a = want.as<float>()[i] > 0.3f, b = got.as<float>()[i] > 0.3f;
      inter += a && b;
      uni += a || b;
    }
  }
  f.cosine = cosine_sum / static_cast<double>(rows);
  f.mask_iou = uni ? static_cast<double>(inter) / static_cast<double>(uni) : 1.0;
  f.sqnr_db = all.stats().sqnr_db;
  std::cout << "  " << model_rel << ": eval cosine " << f.cosine << ", SQNR " << f.sqnr_db << " dB over " << rows << " rows\n";
  return f;
}

}  // namespace

// ORT's quantizer (1.21, QDQ MinMax, same data, run on ORT 1.30): SQNR 35.8 dB.
TEST(QuantizeAccuracyCorpus, Squeezenet) {
  ONNXQ_REQUIRE_CORPUS();
  const Fidelity f = quantize_and_measure("torch/squeezenet1_1.onnx", 79);
  EXPECT_EQ(f.result.rounding, "gptq");
  EXPECT_GE(f.cosine, 0.9998);
  EXPECT_GE(f.sqnr_db, 38.8);  // issue 7: ORT + 3 dB (39.01 measured with GPTQ rounding; 36.6 to nearest)
}

// ORT's quantizer: cosine 0.965, SQNR 11.6 dB.
TEST(QuantizeAccuracyCorpus, MobilenetV2) {
  ONNXQ_REQUIRE_CORPUS();
  const Fidelity f = quantize_and_measure("torch/mobilenet_v2.onnx", 79);
  EXPECT_GE(f.cosine, 0.970);  // 0.9717 measured; issue 7 asks 0.99: not reached (docs/static-int8-accuracy.md)
  EXPECT_GE(f.sqnr_db, 12.5);  // 12.67 measured, ORT + 1 dB; issue 7 asks ORT + 3 dB
}

// ORT's quantizer: cosine 0.59, SQNR 3.6 dB.
TEST(QuantizeAccuracyCorpus, EfficientnetB0) {
  ONNXQ_REQUIRE_CORPUS();
  const Fidelity f = quantize_and_measure("torch/efficientnet_b0.onnx", 79);
  EXPECT_GE(f.cosine, 0.90);   // issue 7: 0.90 (0.905 measured)
  EXPECT_GE(f.sqnr_db, 2.9);   // 3.12 measured; issue 7 asks ORT + 3 dB = 6.6: not reached
}

// ORT's quantizer: cosine 0.984, SQNR 16.1 dB.
TEST(QuantizeAccuracyCorpus, Resnet50) {
  ONNXQ_REQUIRE_CORPUS();
  const Fidelity f = quantize_and_measure("torch/resnet50.onnx", 79);
  EXPECT_GE(f.cosine, 0.988);  // 0.9884 measured; issue 7 asks 0.99: not reached (docs/static-int8-accuracy.md)
  EXPECT_GE(f.sqnr_db, 17.4);  // 17.63 measured, ORT + 1.5 dB; issue 7 asks ORT + 3 dB
}

// PP-OCRv4 det, 20 calibration scenes, 20 eval scenes. ORT's quantizer: SQNR 9.9 dB, mask IoU 0.893.
TEST(QuantizeAccuracyCorpus, PaddleOcrDetection) {
  ONNXQ_REQUIRE_CORPUS();
  const Fidelity f = quantize_and_measure("npm/ocr/ch_PP-OCRv4_det_infer.onnx", 20, {}, {"data/ocr/det_calib.npy", "data/ocr/det_eval.npy"});
  EXPECT_EQ(f.result.fusion.by_op.at("Conv").fused, 62);
  EXPECT_GE(f.sqnr_db, 12.9);   // issue 7: ORT + 3 dB (14.17 measured)
  EXPECT_GE(f.mask_iou, 0.95);  // issue 7 (0.9522 measured; 0.9515 with round-to-nearest)
  std::cout << "  mask IoU " << f.mask_iou << "\n";
}

// --target-cosine returns layers to FP32 until the held-out calibration cosine holds, and says which.
TEST(QuantizeAccuracyCorpus, TargetCosineReturnsLayersToFp32) {
  ONNXQ_REQUIRE_CORPUS();
  AccuracyOptions a;
  a.target_cosine = 0.985;  // above the 0.976 that everything quantized gives on the held-out samples
  a.fallback_max_layers = 4;
  const Fidelity f = quantize_and_measure("torch/mobilenet_v2.onnx", 79, a);
  const FallbackResult& fb = f.result.fallback;
  ASSERT_TRUE(f.result.fallback_ran);
  ASSERT_FALSE(fb.steps.empty());
  if (fb.reached) {
    EXPECT_EQ(fb.steps.size(), fb.excluded.size() + 1);
  } else {
    EXPECT_EQ(static_cast<size_t>(fb.kept_step), fb.excluded.size());
  }
  // Not monotonic (each step is judged on other samples than it was ranked on), but the layers chosen
  // must buy some cosine.
  double best = 0;
  for (const auto& s : fb.steps) best = std::max(best, s.cosine);
  EXPECT_GT(best, fb.steps.front().cosine);
  if (!fb.reached) {
    EXPECT_FALSE(f.result.notes.empty());
  }
  EXPECT_GT(fb.fp32_latency_ms, 0.0);
  for (size_t i = 1; i <= fb.excluded.size(); ++i) EXPECT_EQ(fb.steps[i].node, fb.excluded[i - 1]);
  for (size_t i = 1; i < fb.steps.size(); ++i) {
    EXPECT_GT(fb.steps[i].sensitivity, 0.0);
  }
  // The returned layers are float in the written model's plan.
  for (const auto& n : f.result.plan.nodes) {
    if (std::find(fb.excluded.begin(), fb.excluded.end(), n.node) != fb.excluded.end()) {
      EXPECT_FALSE(n.quantized) << n.node;
    }
  }
}
