#include <gtest/gtest.h>

#include "core/errors.h"
#include "io/model_inputs.h"
#include "io/npy.h"
#include "io/npz.h"
#include "support/graph_builder.h"
#include "support/temp_dir.h"

using namespace onnxquant;

namespace {
IoInfo image_input(int64_t batch = 1) { return IoInfo{"x", DType::Float32, {batch, 3, 4, 4}, {"", "", "", ""}}; }
IoInfo dynamic_image_input() { return IoInfo{"x", DType::Float32, {-1, 3, -1, -1}, {"N", "", "H", "W"}}; }
}  // namespace

TEST(ModelInputs, SplitsANpyStackIntoBatches) {
  test::TempDir dir;
  write_npy(dir / "x.npy", test::random_float_tensor({6, 3, 4, 4}, 1));
  InputOptions o;
  o.files = {(dir / "x.npy").string()};
  auto samples = load_model_inputs({image_input()}, o);
  ASSERT_EQ(samples.size(), 6u);
  EXPECT_EQ(samples[2].at("x").shape, (Shape{1, 3, 4, 4}));
  const Tensor all = read_npy(dir / "x.npy");
  const size_t row = 3 * 4 * 4 * sizeof(float);
  EXPECT_TRUE(std::equal(samples[2].at("x").bytes.begin(), samples[2].at("x").bytes.end(), all.bytes.begin() + 2 * row));
  // A fixed batch of 2 takes rows in pairs; -n limits the count.
  o.max_samples = 2;
  samples = load_model_inputs({image_input(2)}, o);
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[1].at("x").shape, (Shape{2, 3, 4, 4}));
  // One rank higher: axis 0 counts samples, each one whole.
  write_npy(dir / "stack.npy", test::random_float_tensor({5, 2, 3, 4, 4}, 2));
  o = {};
  o.files = {"x=" + (dir / "stack.npy").string()};
  samples = load_model_inputs({image_input(2)}, o);
  ASSERT_EQ(samples.size(), 5u);
  EXPECT_EQ(samples[4].at("x").shape, (Shape{2, 3, 4, 4}));
}

TEST(ModelInputs, RejectsDataThatDoesNotFit) {
  test::TempDir dir;
  InputOptions o;
  write_npy(dir / "wrong.npy", test::random_float_tensor({2, 1, 4, 4}, 1));
  o.files = {(dir / "wrong.npy").string()};
  try {
    load_model_inputs({image_input()}, o);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("wrong.npy"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("dim 1"), std::string::npos) << e.what();
  }
  write_npy(dir / "ints.npy", Tensor(DType::Int64, {1, 3, 4, 4}));
  o.files = {(dir / "ints.npy").string()};
  EXPECT_THROW(load_model_inputs({image_input()}, o), DataError);
  o.files = {"y=" + (dir / "ints.npy").string()};
  EXPECT_THROW(load_model_inputs({image_input()}, o), DataError);  // no input named y
  o.files = {(dir / "missing.npy").string()};
  EXPECT_THROW(load_model_inputs({image_input()}, o), DataError);
  write_npy(dir / "odd.npy", test::random_float_tensor({3, 3, 4, 4}, 1));
  o.files = {(dir / "odd.npy").string()};
  EXPECT_THROW(load_model_inputs({image_input(2)}, o), DataError);  // 3 rows, batch 2
}

TEST(ModelInputs, SyntheticInputsFollowOptions) {
  InputOptions o;
  o.max_samples = 3;
  auto samples = load_model_inputs({dynamic_image_input()}, o);
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_EQ(samples[0].at("x").shape, (Shape{1, 3, kDefaultSyntheticDim, kDefaultSyntheticDim}));
  EXPECT_NE(samples[0].at("x").bytes, samples[1].at("x").bytes);  // different samples differ
  for (double v : samples[0].at("x").to_doubles()) ASSERT_TRUE(v >= -2.5 && v <= 2.5);
  // Same seed, same data.
  EXPECT_EQ(load_model_inputs({dynamic_image_input()}, o)[0].at("x").bytes, samples[0].at("x").bytes);
  o.dims = {{"H", 32}, {"W", 64}, {"N", 2}};
  EXPECT_EQ(load_model_inputs({dynamic_image_input()}, o)[0].at("x").shape, (Shape{2, 3, 32, 64}));
  o.shapes = {{"x", {1, 3, 640, 640}}};
  EXPECT_EQ(load_model_inputs({dynamic_image_input()}, o)[0].at("x").shape, (Shape{1, 3, 640, 640}));
  o.shapes = {{"x", {1, 4, 640, 640}}};  // contradicts the fixed channel dim
  EXPECT_THROW(load_model_inputs({dynamic_image_input()}, o), UsageError);
}

TEST(ModelInputs, MultiInputDetectionModelWorksWithoutHelp) {
  // image + scale_factor + im_shape, as PaddleDetection exports them; an int64 input never gets floats.
  std::vector<IoInfo> inputs{dynamic_image_input(), IoInfo{"scale_factor", DType::Float32, {-1, 2}, {"N", ""}},
                             IoInfo{"im_shape", DType::Float32, {-1, 2}, {"N", ""}}, IoInfo{"ids", DType::Int64, {1, 8}, {"", ""}}};
  InputOptions o;
  o.values = {{"scale_factor", {1.0, 1.0}}};
  auto s = load_model_inputs(inputs, o).at(0);
  EXPECT_EQ(s.at("scale_factor").to_doubles(), (std::vector<double>{1.0, 1.0}));
  for (double v : s.at("ids").to_doubles()) EXPECT_TRUE(v >= 0 && v < 10 && v == static_cast<int64_t>(v));
  o.values = {{"scale_factor", {1.0, 1.0, 1.0}}};
  EXPECT_THROW(load_model_inputs(inputs, o), UsageError);
}

TEST(ModelInputs, NpzSuppliesInputsByName) {
  test::TempDir dir;
  write_npz(dir / "d.npz", {{"x", test::random_float_tensor({4, 3, 4, 4}, 3)}});
  InputOptions o;
  o.files = {(dir / "d.npz").string()};
  auto samples = load_model_inputs({image_input()}, o);
  EXPECT_EQ(samples.size(), 4u);
}

TEST(ModelInputs, ParsesAssignments) {
  EXPECT_EQ(parse_shape_assignment("x=1,3,640,640"), (std::pair<std::string, Shape>{"x", {1, 3, 640, 640}}));
  EXPECT_EQ(parse_dim_assignment("batch=4").second, 4);
  EXPECT_EQ(parse_value_assignment("s=1.5,-2").second, (std::vector<double>{1.5, -2}));
  EXPECT_THROW(parse_shape_assignment("x=1,a,3"), UsageError);
  EXPECT_THROW(parse_shape_assignment("x=1,0,3"), UsageError);
  EXPECT_THROW(parse_shape_assignment("x"), UsageError);
  EXPECT_THROW(parse_dim_assignment("batch=-1"), UsageError);
  EXPECT_THROW(parse_dim_assignment("=3"), UsageError);
}
