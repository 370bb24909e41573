// The calibration pipeline on small graphs with ranges known by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "calib/ranges_file.h"
#include "core/errors.h"
#include "core/sha256.h"
#include "io/npy.h"
#include "pipeline/calibrate_job.h"
#include "support/graph_builder.h"
#include "support/temp_dir.h"

using namespace onnxquant;

namespace {
// x -> Neg -> Relu -> y: Neg's output range is -range(x), Relu clips it at 0.
void write_small_model(const std::filesystem::path& path) {
  test::GraphBuilder b;
  b.input("x", DType::Float32, {-1, 8}, {"n", ""}).output("y", DType::Float32, {-1, 8}, {"n", ""});
  b.node("Neg", {"x"}, {"neg"});
  b.node("Relu", {"neg"}, {"y"});
  b.build().save(path);
}
}  // namespace

TEST(CalibrateJob, MinMaxRangesMatchTheData) {
  test::TempDir dir;
  write_small_model(dir / "m.onnx");
  const Tensor data = test::random_float_tensor({10, 8}, 11, -3.f, 2.f);
  write_npy(dir / "x.npy", data);
  CalibrateRequest req;
  req.model = dir / "m.onnx";
  req.inputs.files = {(dir / "x.npy").string()};
  req.output = dir / "ranges.json";
  req.range.method = RangeMethod::MinMax;
  req.progress = ProgressMode::Off;
  const CalibrateResult r = calibrate_model(req);
  EXPECT_EQ(r.samples, 10);
  const auto values = data.as<float>();
  const float lo = *std::min_element(values.begin(), values.end()), hi = *std::max_element(values.begin(), values.end());
  const RangesFile quantizable = load_ranges(dir / "ranges.json");
  // `neg` is read only by a Relu: the quantized model never needs its range, so it is not observed.
  EXPECT_EQ(quantizable.tensors.size(), 2u);
  EXPECT_FALSE(quantizable.tensors.count("neg"));
  req.coverage = TensorCoverage::All;
  calibrate_model(req);
  const RangesFile f = load_ranges(dir / "ranges.json");
  EXPECT_EQ(f.model_sha256, sha256_file_hex(dir / "m.onnx"));
  EXPECT_EQ(f.samples, 10u);
  ASSERT_EQ(f.tensors.size(), 3u);  // x, neg, y
  EXPECT_EQ(f.tensors.at("y").range, quantizable.tensors.at("y").range);
  EXPECT_FLOAT_EQ(f.tensors.at("x").observed_min, lo);
  EXPECT_FLOAT_EQ(f.tensors.at("x").observed_max, hi);
  EXPECT_FLOAT_EQ(f.tensors.at("neg").observed_min, -hi);
  EXPECT_FLOAT_EQ(f.tensors.at("neg").observed_max, -lo);
  EXPECT_FLOAT_EQ(f.tensors.at("y").observed_min, 0.f);
  EXPECT_FLOAT_EQ(f.tensors.at("y").observed_max, -lo);
  EXPECT_DOUBLE_EQ(f.tensors.at("y").range.min, 0.0);
  EXPECT_EQ(f.tensors.at("x").count, 80u);
  EXPECT_NO_THROW(check_ranges_match_model(f, sha256_file_hex(dir / "m.onnx"), dir / "m.onnx"));
}

TEST(CalibrateJob, RangesOfAnotherModelAreRejected) {
  test::TempDir dir;
  write_small_model(dir / "m.onnx");
  CalibrateRequest req;
  req.model = dir / "m.onnx";
  req.inputs.max_samples = 2;
  req.progress = ProgressMode::Off;
  const RangesFile f = calibrate_model(req).ranges;
  test::GraphBuilder other;
  other.input("x", DType::Float32, {1, 8}).output("y", DType::Float32, {1, 8});
  other.node("Relu", {"x"}, {"y"});
  other.build().save(dir / "other.onnx");
  EXPECT_THROW(check_ranges_match_model(f, sha256_file_hex(dir / "other.onnx"), dir / "other.onnx"), CalibrationError);
}

TEST(CalibrateJob, NanInDataNamesTensorAndSample) {
  test::TempDir dir;
  write_small_model(dir / "m.onnx");
  Tensor data = test::random_float_tensor({4, 8}, 3);
  data.as<float>()[2 * 8 + 5] = std::numeric_limits<float>::quiet_NaN();
  write_npy(dir / "x.npy", data);
  CalibrateRequest req;
  req.model = dir / "m.onnx";
  req.inputs.files = {(dir / "x.npy").string()};
  req.output = dir / "ranges.json";
  req.progress = ProgressMode::Off;
  try {
    calibrate_model(req);
    FAIL() << "NaN not reported";
  } catch (const Error& e) {
    // Either the data source (which checks floats) or the observer reports it; both name sample 2.
    const std::string msg = e.what();
    EXPECT_NE(msg.find("NaN"), std::string::npos) << msg;
    EXPECT_NE(msg.find('2'), std::string::npos) << msg;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "ranges.json"));
}

TEST(CalibrateJob, ConstantTensorsAreReported) {
  test::TempDir dir;
  test::GraphBuilder b;
  b.input("x", DType::Float32, {1, 4}).output("y", DType::Float32, {1, 4});
  b.initializer("zero", {0.f}, {1}).initializer("five", {5.f}, {1});
  b.node("Mul", {"x", "zero"}, {"z"});
  b.node("Add", {"z", "five"}, {"y"});
  b.build().save(dir / "c.onnx");
  CalibrateRequest req;
  req.model = dir / "c.onnx";
  req.inputs.max_samples = 3;
  req.progress = ProgressMode::Off;
  const CalibrateResult r = calibrate_model(req);
  EXPECT_EQ(r.constant_tensors, (std::vector<std::string>{"y", "z"}));
  EXPECT_DOUBLE_EQ(r.ranges.tensors.at("y").range.min, 0.0);
  EXPECT_DOUBLE_EQ(r.ranges.tensors.at("y").range.max, 5.0);
}

TEST(CalibrateJob, WeightsPassedThroughIdentityAreNotActivations) {
  // PyTorch exports biases as Identity(initializer): computed from weights alone, not from the data.
  test::TempDir dir;
  test::GraphBuilder b;
  b.input("x", DType::Float32, {1, 4}).output("y", DType::Float32, {1, 4});
  b.initializer("bias", {1, 2, 3, 4}, {4});
  b.node("Identity", {"bias"}, {"bias_copy"});
  b.node("Add", {"x", "bias_copy"}, {"y"});
  b.build().save(dir / "m.onnx");
  CalibrateRequest req;
  req.model = dir / "m.onnx";
  req.progress = ProgressMode::Off;
  req.coverage = TensorCoverage::All;
  const CalibrateResult r = calibrate_model(req);
  EXPECT_TRUE(r.ranges.tensors.count("x"));
  EXPECT_TRUE(r.ranges.tensors.count("y"));
  EXPECT_FALSE(r.ranges.tensors.count("bias_copy"));
}
