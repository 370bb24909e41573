// Folders of raw float32 .bin files: shapes from --raw-shape or the model, sizes checked up front.
#include <gtest/gtest.h>

#include <fstream>

#include "core/errors.h"
#include "core/half.h"
#include "io/model_inputs.h"
#include "support/graph_builder.h"
#include "support/temp_dir.h"

using namespace onnxquant;

namespace {

void write_bin(const std::filesystem::path& p, const Tensor& t) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
}

IoInfo fixed_input() { return IoInfo{"x", DType::Float32, {1, 2, 3}, {"", "", ""}}; }
IoInfo dynamic_input() { return IoInfo{"x", DType::Float32, {-1, 2, -1}, {"batch", "", "len"}}; }

}  // namespace

TEST(RawFolder, ReadsOneSamplePerFileInNameOrder) {
  test::TempDir dir;
  std::vector<Tensor> t;
  for (uint32_t i = 0; i < 3; ++i) t.push_back(test::random_float_tensor({1, 2, 3}, i + 1));
  write_bin(dir / "b.bin", t[1]);
  write_bin(dir / "a.bin", t[0]);
  write_bin(dir / "c.bin", t[2]);
  std::ofstream(dir / "index.txt") << "a.bin\nb.bin\nc.bin\n";  // sidecar files are ignored
  InputOptions o;
  o.files = {dir.path().string()};
  auto s = load_model_inputs({fixed_input()}, o);  // shape from the model: fully fixed
  ASSERT_EQ(s.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(s[i].at("x").bytes, t[i].bytes) << i;
  // A dynamic input needs --raw-shape, unnamed or per input; a lower rank gets batch 1.
  EXPECT_THROW(InputSource({dynamic_input()}, o), UsageError);
  o.raw_shapes = {{"", {1, 2, 3}}};
  EXPECT_EQ(load_model_inputs({dynamic_input()}, o).at(0).at("x").shape, (Shape{1, 2, 3}));
  o.raw_shapes = {{"x", {2, 3}}};
  EXPECT_EQ(load_model_inputs({dynamic_input()}, o).at(0).at("x").shape, (Shape{1, 2, 3}));
  // --dim fills the symbolic dims when no --raw-shape is given.
  o.raw_shapes.clear();
  o.dims = {{"len", 3}};
  EXPECT_EQ(load_model_inputs({dynamic_input()}, o).size(), 3u);
  // One .bin file is one sample; a float16 input gets the values converted.
  o = {};
  o.files = {"x=" + (dir / "c.bin").string()};
  s = load_model_inputs({IoInfo{"x", DType::Float16, {1, 2, 3}, {"", "", ""}}}, o);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].at("x").dtype, DType::Float16);
  EXPECT_NEAR(half_to_float(s[0].at("x").as<uint16_t>()[4]), t[2].as<float>()[4], 1e-3);
}

TEST(RawFolder, WrongSizesAreDataErrorsNamingTheFile) {
  test::TempDir dir;
  write_bin(dir / "a.bin", test::random_float_tensor({1, 2, 3}, 1));
  write_bin(dir / "b.bin", test::random_float_tensor({1, 2, 2}, 2));  // 16 bytes, 24 expected
  InputOptions o;
  o.files = {dir.path().string()};
  try {
    InputSource s({fixed_input()}, o);
    FAIL();
  } catch (const DataError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("b.bin"), std::string::npos) << m;
    EXPECT_NE(m.find("16 bytes"), std::string::npos) << m;
    EXPECT_NE(m.find("24"), std::string::npos) << m;
  }
  o.skip_bad = true;
  InputSource s({fixed_input()}, o);
  EXPECT_EQ(s.size(), 1);
  ASSERT_EQ(s.skipped().size(), 1u);
  EXPECT_NE(s.skipped()[0].find("b.bin"), std::string::npos);
  // An int input cannot take raw float32 files; a shape that contradicts the model is rejected.
  o.skip_bad = false;
  EXPECT_THROW(InputSource({IoInfo{"x", DType::Int64, {1, 2, 3}, {"", "", ""}}}, o), DataError);
  o.raw_shapes = {{"", {1, 3, 2}}};
  EXPECT_THROW(InputSource({fixed_input()}, o), DataError);
  EXPECT_THROW(parse_raw_shape("x=1,0,3"), UsageError);
  EXPECT_EQ(parse_raw_shape("1,3,224,224"), (std::pair<std::string, Shape>{"", {1, 3, 224, 224}}));
  EXPECT_EQ(parse_raw_shape("x=2,3").first, "x");
}
