// `calibrate` and `quantize -i` share one default range method (MSE), so `calibrate` then
// `quantize --ranges` writes the same model as `quantize -i` on the same data.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "io/npy.h"
#include "pipeline/calibrate_job.h"
#include "pipeline/quantize_job.h"
#include "support/file_bytes.h"
#include "support/graph_builder.h"
#include "support/temp_dir.h"

using namespace onnxquant;

TEST(CalibrateQuantizeAgree, DefaultMethodsGiveTheSameModel) {
  EXPECT_EQ(CalibrateRequest{}.range.method, QuantizeRequest{}.range.method);
  EXPECT_EQ(QuantizeRequest{}.range.method, RangeMethod::Mse);

  test::TempDir dir;
  test::GraphBuilder b(13);
  b.input("x", DType::Float32, {1, 4, 6, 6});
  b.output("y", DType::Float32, {1, 4, 6, 6});
  b.initializer("W", test::random_float_tensor({8, 4, 3, 3}, 1));
  b.initializer("B", test::random_float_tensor({8}, 2));
  b.initializer("W2", test::random_float_tensor({4, 8, 1, 1}, 3));
  auto& c = b.node("Conv", {"x", "W", "B"}, {"c"}, "conv1");
  test::GraphBuilder::attr_ints(c, "pads", {1, 1, 1, 1});
  b.node("Relu", {"c"}, {"r"}, "relu1");
  b.node("Conv", {"r", "W2"}, {"c2"}, "conv2");
  b.node("Sigmoid", {"c2"}, {"y"}, "sigmoid");
  b.build().save(dir / "m.onnx");
  // Heavy-tailed data, so that MSE and minmax ranges differ.
  Tensor data = test::random_float_tensor({16, 4, 6, 6}, 5);
  for (size_t i = 0; i < data.as<float>().size(); i += 37) data.as<float>()[i] *= 8.f;
  write_npy(dir / "calib.npy", data);

  CalibrateRequest cal;
  cal.model = dir / "m.onnx";
  cal.inputs.files = {(dir / "calib.npy").string()};
  cal.output = dir / "ranges.json";
  cal.progress = ProgressMode::Off;
  calibrate_model(cal);

  QuantizeRequest direct;
  direct.model = dir / "m.onnx";
  direct.inputs.files = cal.inputs.files;
  direct.output = dir / "direct.onnx";
  direct.progress = ProgressMode::Off;
  const QuantizeResult a = quantize_model(direct);
  QuantizeRequest via_file = direct;
  via_file.ranges_file = dir / "ranges.json";
  via_file.output = dir / "via_file.onnx";
  const QuantizeResult f = quantize_model(via_file);
  ASSERT_TRUE(a.written && f.written);
  EXPECT_GT(a.plan.quantized_node_count(), 0);
  EXPECT_EQ(a.rounding, f.rounding);  // both have the data for GPTQ
  EXPECT_EQ(test::file_bytes(dir / "direct.onnx"), test::file_bytes(dir / "via_file.onnx"));

  // With minmax ranges the model differs: the test can tell the methods apart.
  cal.range.method = RangeMethod::MinMax;
  cal.output = dir / "minmax.json";
  calibrate_model(cal);
  via_file.ranges_file = dir / "minmax.json";
  via_file.output = dir / "minmax.onnx";
  quantize_model(via_file);
  EXPECT_NE(test::file_bytes(dir / "direct.onnx"), test::file_bytes(dir / "minmax.onnx"));
}
