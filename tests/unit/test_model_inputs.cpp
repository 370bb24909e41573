// InputSource: .npy/.npz files and folders, synthetic inputs (detection and recurrent models without
// help), sample selection (-n, --shuffle), and the checks (fit, empty folders, NaN/Inf).
#include <gtest/gtest.h>

#include <fstream>
#include <limits>

#include "core/errors.h"
#include "exec/executor.h"
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

TEST(ModelInputs, NpyFolderGivesOneSamplePerFileInNameOrder) {
  test::TempDir dir;
  std::vector<Tensor> t;
  for (uint32_t i = 0; i < 3; ++i) t.push_back(test::random_float_tensor({3, 4, 4}, i + 10));  // one rank lower: batch 1 added
  write_npy(dir / "s10.npy", t[2]);
  write_npy(dir / "s00.npy", t[0]);
  write_npy(dir / "s01.npy", t[1]);
  InputOptions o;
  o.files = {dir.path().string()};
  auto samples = load_model_inputs({image_input()}, o);
  ASSERT_EQ(samples.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(samples[i].at("x").shape, (Shape{1, 3, 4, 4}));
    EXPECT_EQ(samples[i].at("x").bytes, t[i].bytes) << i;
  }
  // Every header is checked when the source is built: one file of another shape fails it, naming the file.
  write_npy(dir / "s11.npy", test::random_float_tensor({3, 5, 4}, 1));
  try {
    InputSource s({image_input()}, o);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("s11.npy"), std::string::npos) << e.what();
  }
}

TEST(ModelInputs, NpzFolderSuppliesSeveralInputsPerFile) {
  test::TempDir dir;
  for (int i = 0; i < 4; ++i)
    write_npz(dir / ("d" + std::to_string(i) + ".npz"),
              {{"x", test::random_float_tensor({1, 3, 4, 4}, static_cast<uint32_t>(i))}, {"ids", Tensor(DType::Int64, {1, 8})}});
  const std::vector<IoInfo> inputs{image_input(), IoInfo{"ids", DType::Int64, {1, 8}, {"", ""}}};
  InputOptions o;
  o.files = {dir.path().string()};
  auto samples = load_model_inputs(inputs, o);
  ASSERT_EQ(samples.size(), 4u);
  EXPECT_EQ(samples[3].at("ids").shape, (Shape{1, 8}));
  // A later file without one of the arrays fails when its sample is read, naming it.
  write_npz(dir / "d9.npz", {{"x", test::random_float_tensor({1, 3, 4, 4}, 9)}});
  InputSource s(inputs, o);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(s.next());
  try {
    s.next();
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("d9.npz"), std::string::npos) << e.what();
  }
}

TEST(ModelInputs, ShuffleTakesASeededSubset) {
  test::TempDir dir;
  write_npy(dir / "x.npy", test::random_float_tensor({20, 1, 3, 4, 4}, 5));
  InputOptions o;
  o.files = {(dir / "x.npy").string()};
  o.max_samples = 4;
  const auto first = load_model_inputs({image_input()}, o);
  o.shuffle = true;
  o.seed = 1;
  const auto a = load_model_inputs({image_input()}, o), b = load_model_inputs({image_input()}, o);
  o.seed = 2;
  const auto c = load_model_inputs({image_input()}, o);
  ASSERT_EQ(a.size(), 4u);
  auto same = [](const auto& p, const auto& q) {
    for (size_t i = 0; i < p.size(); ++i)
      if (p[i].at("x").bytes != q[i].at("x").bytes) return false;
    return true;
  };
  EXPECT_TRUE(same(a, b));   // same seed, same subset
  EXPECT_FALSE(same(a, first));
  EXPECT_FALSE(same(a, c));
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = 0; j < i; ++j) EXPECT_NE(a[i].at("x").bytes, a[j].at("x").bytes);  // without repeats
}

TEST(ModelInputs, FolderProblemsAreDataErrorsNamingTheFolder) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "empty");
  std::ofstream(dir / "empty" / "README.md") << "no data here";
  InputOptions o;
  o.files = {(dir / "empty").string()};
  try {
    InputSource s({image_input()}, o);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos) << e.what();
  }
  std::filesystem::create_directories(dir / "mixed");
  write_npy(dir / "mixed" / "a.npy", test::random_float_tensor({1, 3, 4, 4}, 1));
  std::ofstream(dir / "mixed" / "b.bin") << "1234";
  o.files = {(dir / "mixed").string()};
  EXPECT_THROW(InputSource({image_input()}, o), DataError);
  o.files = {(dir / "nowhere").string()};
  EXPECT_THROW(InputSource({image_input()}, o), DataError);
  // The same input from two sources is ambiguous.
  write_npy(dir / "x.npy", test::random_float_tensor({1, 3, 4, 4}, 1));
  o.files = {(dir / "x.npy").string(), "x=" + (dir / "x.npy").string()};
  EXPECT_THROW(InputSource({image_input()}, o), DataError);
}

TEST(ModelInputs, NonFiniteValuesAreReportedWithSampleFileAndInput) {
  test::TempDir dir;
  Tensor t = test::random_float_tensor({4, 1, 3, 4, 4}, 3);
  t.as<float>()[2 * 48 + 7] = std::numeric_limits<float>::quiet_NaN();
  write_npy(dir / "x.npy", t);
  InputOptions o;
  o.files = {(dir / "x.npy").string()};
  try {
    load_model_inputs({image_input()}, o);
    FAIL();
  } catch (const DataError& e) {
    const std::string m = e.what();
    for (const char* part : {"sample 2", "x.npy", "'x'", "NaN", "element 7"}) EXPECT_NE(m.find(part), std::string::npos) << m;
  }
  o.check_finite = false;
  EXPECT_EQ(load_model_inputs({image_input()}, o).size(), 4u);
  // Inf in float16 data, from a folder: the file is named.
  std::filesystem::create_directories(dir / "f16");
  Tensor h(DType::Float16, {1, 2});
  h.as<uint16_t>()[1] = 0x7c00;
  write_npy(dir / "f16" / "s.npy", h);
  o = {};
  o.files = {(dir / "f16").string()};
  try {
    load_model_inputs({IoInfo{"h", DType::Float16, {1, 2}, {"", ""}}}, o);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("s.npy"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Inf"), std::string::npos) << e.what();
  }
}

TEST(ModelInputs, RecurrentModelWorksWithoutHelp) {
  // Audio model inputs: samples [batch, 512], state [2, batch, 64], sr int64 scalar.
  const std::vector<IoInfo> inputs{IoInfo{"input", DType::Float32, {-1, 512}, {"batch", ""}},
                                   IoInfo{"state", DType::Float32, {2, -1, 64}, {"", "batch", ""}},
                                   IoInfo{"sr", DType::Int64, {}, {}}};
  const auto s = load_model_inputs(inputs, {}).at(0);
  EXPECT_EQ(s.at("input").shape, (Shape{1, 512}));
  EXPECT_EQ(s.at("state").shape, (Shape{2, 1, 64}));  // the batch dim is 1 wherever its name appears
  for (double v : s.at("state").to_doubles()) ASSERT_EQ(v, 0.0);  // a recurrent model starts from zeros
  EXPECT_EQ(s.at("sr").shape, Shape{});
  EXPECT_EQ(s.at("sr").to_doubles(), (std::vector<double>{16000}));
  // The model runs on them: y = input * float(sr) + mean(state).
  test::GraphBuilder b;
  b.input("input", DType::Float32, {-1, 512}, {"batch", ""}).input("state", DType::Float32, {2, -1, 64}, {"", "batch", ""});
  b.input("sr", DType::Int64, {}).output("y", DType::Float32, {-1, 512}, {"batch", ""});
  test::GraphBuilder::attr_int(b.node("Cast", {"sr"}, {"srf"}), "to", 1);
  b.node("Mul", {"input", "srf"}, {"scaled"});
  test::GraphBuilder::attr_int(b.node("ReduceMean", {"state"}, {"m"}), "keepdims", 0);
  b.node("Add", {"scaled", "m"}, {"y"});
  Executor ex(b.build());
  const auto out = ex.run(load_model_inputs(ex.inputs(), {}).at(0));
  EXPECT_EQ(out.at("y").shape, (Shape{1, 512}));
}

TEST(ModelInputs, DetectionModelSizesFollowTheImage) {
  // im_shape gets the synthetic image's H,W (also when --dim sets them); scale_factor 1.
  std::vector<IoInfo> inputs{IoInfo{"image", DType::Float32, {-1, 3, -1, -1}, {"N", "", "H", "W"}},
                             IoInfo{"im_shape", DType::Float32, {-1, 2}, {"N", ""}}, IoInfo{"scale_factor", DType::Float32, {-1, 2}, {"N", ""}}};
  InputOptions o;
  o.dims = {{"H", 640}, {"W", 480}};
  auto s = load_model_inputs(inputs, o).at(0);
  EXPECT_EQ(s.at("image").shape, (Shape{1, 3, 640, 480}));
  EXPECT_EQ(s.at("im_shape").to_doubles(), (std::vector<double>{640, 480}));
  EXPECT_EQ(s.at("scale_factor").to_doubles(), (std::vector<double>{1, 1}));
  // From a .npy image too: the sizes are those of the tensor actually fed.
  test::TempDir dir;
  write_npy(dir / "img.npy", test::random_float_tensor({1, 3, 32, 64}, 1));
  o = {};
  o.files = {"image=" + (dir / "img.npy").string()};
  s = load_model_inputs(inputs, o).at(0);
  EXPECT_EQ(s.at("im_shape").to_doubles(), (std::vector<double>{32, 64}));
  EXPECT_EQ(InputSource(inputs, o).describe().size(), 3u);
}

TEST(ModelInputs, ParsesImageAndRawOptionText) {
  EXPECT_EQ(parse_height_width("224", "--crop"), (std::array<int64_t, 2>{224, 224}));
  EXPECT_EQ(parse_height_width("480,640", "--size"), (std::array<int64_t, 2>{480, 640}));
  EXPECT_THROW(parse_height_width("1,2,3", "--size"), UsageError);
  EXPECT_EQ(parse_float_list("0.5,0.25", "--mean"), (std::vector<float>{0.5f, 0.25f}));
  EXPECT_THROW(parse_float_list("0.5,x", "--mean"), UsageError);
  EXPECT_EQ(parse_layout("nhwc"), ImageLayout::NHWC);
  EXPECT_THROW(parse_layout("CHW"), UsageError);
}
