// Static INT8 (first slice) on real models: quantize from a ranges file, check the result in ORT against
// FP32 on eval rows never used for calibration, and count what ORT fused. Numbers pin today's behaviour;
// squeezenet's squeeze Convs after QLinearConcat are a known gap (not all fused yet).
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
};

Outcome quantize_and_check(const std::string& model_rel, int64_t calib_rows, int64_t eval_rows, const test::TempDir& dir) {
  const auto model = test::corpus_dir() / model_rel;
  CalibrateRequest c;
  c.model = model;
  c.inputs.files = {(test::corpus_dir() / "data/imagenet224/calib.npy").string()};
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
  if (auto it = r.fusion.by_op.find("Conv"); it != r.fusion.by_op.end()) {
    o.convs_quantized = it->second.quantized;
    o.convs_fused = it->second.fused;
  }
  Executor fp32(model), int8(dir / "int8.onnx");
  NpyReader eval(test::corpus_dir() / "data/imagenet224/eval.npy");
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

TEST(QuantizeCorpus, Squeezenet) {
  ONNXQ_REQUIRE_CORPUS();
  test::TempDir dir;
  const Outcome o = quantize_and_check("torch/squeezenet1_1.onnx", 8, 16, dir);
  EXPECT_GT(o.cosine, 0.99);
  EXPECT_GE(o.convs_fused, 14);
  EXPECT_LE(o.convs_fused, o.convs_quantized);
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
  const std::string page = test::slurp(dir / "q.html");
  EXPECT_NE(page.find("<svg"), std::string::npos);
  EXPECT_NE(page.find("onnxquant quantize"), std::string::npos);  // the exact command is on the page
  EXPECT_EQ(page.find("<script src"), std::string::npos);          // self-contained
}
