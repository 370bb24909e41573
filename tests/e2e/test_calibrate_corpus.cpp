// Calibration of real models: every float tensor gets a range, methods nest as they should, the CLI
// writes a ranges file tied to the model, and bad data gives the documented errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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
                   " -n 8 -m minmax --histograms -o " + (dir / "minmax.json").string() + " --format json");
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

// At 640x640 the detector's exposed activations are ~690 MB per sample: calibration runs it in segments
// (the memory bound is measured by bench/calibration.sh). The ranges must equal one whole-model run's,
// up to the float rounding of ORT fusions that a segment boundary splits.
TEST(CalibrateCorpus, SegmentedDetectorMatchesWholeModelRun) {
  ONNXQ_REQUIRE_CORPUS();
  CalibrateRequest req;
  req.model = corpus("npm/ocr/ch_PP-OCRv4_det_infer.onnx");
  req.inputs.files = {corpus("data/ocr/det_calib.npy")};
  req.inputs.max_samples = 2;
  req.progress = ProgressMode::Off;
  const CalibrateResult cut = calibrate_model(req);
  EXPECT_GE(cut.segments, 8);
  req.segment_budget_bytes = int64_t{1} << 40;
  const CalibrateResult whole = calibrate_model(req);
  EXPECT_EQ(whole.segments, 1);
  ASSERT_EQ(cut.ranges.tensors.size(), whole.ranges.tensors.size());
  for (const auto& [name, t] : whole.ranges.tensors) {
    ASSERT_TRUE(cut.ranges.tensors.count(name)) << name;
    const auto& c = cut.ranges.tensors.at(name);
    const double tolerance = 1e-4 * (1.0 + std::max(std::abs(t.observed_min), std::abs(t.observed_max)));
    EXPECT_NEAR(c.observed_min, t.observed_min, tolerance) << name;
    EXPECT_NEAR(c.observed_max, t.observed_max, tolerance) << name;
  }
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
