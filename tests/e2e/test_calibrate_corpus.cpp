// Calibration of real models: every float tensor gets a range, methods nest as they should, the CLI
// writes a ranges file tied to the model, and bad data gives the documented errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "calib/ranges_file.h"
#include "pipeline/calibrate_job.h"
#include "support/cli_runner.h"
#include "support/corpus.h"
#include "support/temp_dir.h"

using namespace onnxquant;
using onnxquant::test::run_cli;

namespace {
std::string corpus(const std::string& rel) { return (test::corpus_dir() / rel).string(); }
}  // namespace

TEST(CalibrateCorpus, MethodsNestInsideMinMax) {
  ONNXQ_REQUIRE_CORPUS();
  test::TempDir dir;
  auto r = run_cli("calibrate " + corpus("torch/squeezenet1_1.onnx") + " -i " + corpus("data/imagenet224/calib.npy") +
                   " -n 8 --histograms -o " + (dir / "minmax.json").string() + " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("samples"), 8);
  // The input and every Relu/Concat/pool output: 40. The 26 Conv outputs read only by a Relu are
  // skipped, and so are the 18 biases the export passes through Identity (weights, not activations).
  EXPECT_EQ(j.at("tensors").get<int>(), 40);
  auto all = run_cli("calibrate " + corpus("torch/squeezenet1_1.onnx") + " -i " + corpus("data/imagenet224/calib.npy") +
                     " -n 2 --all-tensors -o " + (dir / "all.json").string() + " --format json");
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(nlohmann::json::parse(all.out).at("tensors").get<int>(), 40 + 26);
  const RangesFile minmax = load_ranges(dir / "minmax.json");
  for (const auto method : {RangeMethod::Percentile, RangeMethod::Entropy, RangeMethod::Mse}) {
    RangeOptions o;
    o.method = method;
    const RangesFile other = recompute_ranges(minmax, o);  // same histograms, no model run
    for (const auto& [name, t] : other.tensors) {
      const auto& m = minmax.tensors.at(name).range;
      EXPECT_GE(t.range.min, m.min - 1e-6) << method_name(method) << " " << name;
      EXPECT_LE(t.range.max, m.max + 1e-6) << method_name(method) << " " << name;
      EXPECT_LE(t.range.min, 0.0);
      EXPECT_GE(t.range.max, 0.0);
    }
  }
}

TEST(CalibrateCorpus, PaddleDetectionModelWithDynamicDims) {
  ONNXQ_REQUIRE_CORPUS();
  test::TempDir dir;
  auto r = run_cli("calibrate " + corpus("npm/ocr/ch_PP-OCRv4_det_infer.onnx") + " -i " + corpus("data/ocr/det_calib.npy") +
                   " -n 2 -m entropy -o " + (dir / "det.json").string() + " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const RangesFile f = load_ranges(dir / "det.json");
  EXPECT_EQ(f.samples, 2u);
  EXPECT_TRUE(f.tensors.count("x"));
  EXPECT_TRUE(f.tensors.count("sigmoid_0.tmp_0"));
  const auto& out = f.tensors.at("sigmoid_0.tmp_0").range;
  EXPECT_GE(out.min, 0.0);
  EXPECT_LE(out.max, 1.0 + 1e-6);
}

TEST(CalibrateCorpus, BadDataIsAClearError) {
  ONNXQ_REQUIRE_CORPUS();
  test::TempDir dir;
  // Data for another model: the classifier's crops into the ImageNet model.
  auto r = run_cli("calibrate " + corpus("torch/squeezenet1_1.onnx") + " -i " + corpus("data/ocr/cls_calib.npy") + " -o " +
                   (dir / "r.json").string());
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.err.find("cls_calib.npy"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "r.json"));
  r = run_cli("calibrate " + corpus("torch/squeezenet1_1.onnx") + " -m nonsense -o " + (dir / "r.json").string());
  EXPECT_EQ(r.exit_code, 2) << r.err;
}
