// .safetensors: round trips of every supported dtype, row reads, the file as an InputSource, and every
// malformed header we can think of (each must be a DataError naming the file, never a crash).
#include <gtest/gtest.h>

#include <fstream>

#include "core/errors.h"
#include "io/model_inputs.h"
#include "io/safetensors.h"
#include "support/graph_builder.h"
#include "support/temp_dir.h"

using namespace onnxquant;

namespace {

Tensor iota_tensor(DType t, Shape shape) {
  Tensor x(t, std::move(shape));
  for (size_t i = 0; i < x.bytes.size(); ++i) x.bytes[i] = static_cast<std::byte>(i * 7 + 1);
  return x;
}

// A file with exactly this header text (and `data` after it).
void write_raw(const std::filesystem::path& p, const std::string& header, const std::string& data, uint64_t declared_len) {
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>(declared_len >> (8 * i) & 0xff);
  out += header + data;
  std::ofstream(p, std::ios::binary) << out;
}
void write_raw(const std::filesystem::path& p, const std::string& header, const std::string& data = std::string(16, '\0')) {
  write_raw(p, header, data, header.size());
}

void expect_data_error(const std::filesystem::path& p, const std::string& fragment) {
  try {
    SafetensorsReader r(p);
    ADD_FAILURE() << p << " was accepted";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(p.filename().string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Safetensors, RoundTripsEveryDtype) {
  test::TempDir dir;
  NamedTensors in;
  const std::vector<DType> types{DType::Float32, DType::Float16, DType::BFloat16, DType::Int64, DType::Int32, DType::Int8,
                                 DType::UInt8,   DType::Bool,    DType::Float64};
  for (size_t i = 0; i < types.size(); ++i) in["t" + std::to_string(i)] = iota_tensor(types[i], {3, static_cast<int64_t>(i) + 1});
  in["scalar"] = iota_tensor(DType::Float32, {});
  in["empty"] = Tensor(DType::Float32, {0, 4});
  write_safetensors(dir / "a.safetensors", in, {{"format", "pt"}});
  SafetensorsReader r(dir / "a.safetensors");
  EXPECT_EQ(r.metadata().at("format"), "pt");
  ASSERT_EQ(r.entries().size(), in.size());
  for (const auto& [name, t] : in) {
    const SafetensorsEntry* e = r.find(name);
    ASSERT_NE(e, nullptr) << name;
    const Tensor back = r.read(*e);
    EXPECT_EQ(back.dtype, t.dtype) << name;
    EXPECT_EQ(back.shape, t.shape) << name;
    EXPECT_EQ(back.bytes, t.bytes) << name;
  }
  const Tensor rows = r.read_rows(*r.find("t0"), 1, 2);  // rows 1..2 of a [3,1] float tensor
  EXPECT_EQ(rows.shape, (Shape{2, 1}));
  EXPECT_TRUE(std::equal(rows.bytes.begin(), rows.bytes.end(), in["t0"].bytes.begin() + 4));
  EXPECT_THROW(r.read_rows(*r.find("t0"), 2, 2), DataError);
  EXPECT_EQ(safetensors_dtype("F8_E4M3"), DType::Undefined);
}

TEST(Safetensors, FeedsInputsByName) {
  test::TempDir dir;
  // A stack for x (axis 0 counts samples) and batches for mask, as a Hugging Face export would name them.
  write_safetensors(dir / "d.safetensors", {{"x", test::random_float_tensor({4, 1, 8}, 1)}, {"mask", iota_tensor(DType::Int64, {4, 8})}});
  const std::vector<IoInfo> inputs{IoInfo{"x", DType::Float32, {1, 8}, {"", ""}}, IoInfo{"mask", DType::Int64, {-1, 8}, {"batch", ""}}};
  InputOptions o;
  o.files = {(dir / "d.safetensors").string()};
  auto s = load_model_inputs(inputs, o);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[3].at("x").shape, (Shape{1, 8}));
  EXPECT_EQ(s[3].at("mask").shape, (Shape{1, 8}));
  const SafetensorsReader file(dir / "d.safetensors");
  EXPECT_EQ(s[2].at("mask").bytes, file.read_rows(*file.find("mask"), 2, 1).bytes);
  // NAME=file takes just that tensor; the other input is synthetic.
  o.files = {"mask=" + (dir / "d.safetensors").string()};
  o.max_samples = 1;
  EXPECT_EQ(load_model_inputs(inputs, o).at(0).at("x").shape, (Shape{1, 8}));
  // A tensor no input is named after, or of the wrong dtype, is rejected up front.
  write_safetensors(dir / "extra.safetensors", {{"labels", iota_tensor(DType::Int64, {4})}});
  o.files = {(dir / "extra.safetensors").string()};
  EXPECT_THROW(InputSource(inputs, o), DataError);
  write_safetensors(dir / "f16.safetensors", {{"x", iota_tensor(DType::Float16, {4, 1, 8})}});
  o.files = {(dir / "f16.safetensors").string()};
  EXPECT_THROW(InputSource(inputs, o), DataError);
}

TEST(Safetensors, RejectsMalformedFiles) {
  test::TempDir dir;
  std::ofstream(dir / "short.safetensors") << "abc";
  expect_data_error(dir / "short.safetensors", "too short");
  write_raw(dir / "huge.safetensors", "{}", "", uint64_t{1} << 40);
  expect_data_error(dir / "huge.safetensors", "100 MB");
  write_raw(dir / "past.safetensors", "{}", "", 100);
  expect_data_error(dir / "past.safetensors", "past the end");
  write_raw(dir / "notjson.safetensors", "{\"a\": [1,2");
  expect_data_error(dir / "notjson.safetensors", "not valid JSON");
  write_raw(dir / "array.safetensors", "[1, 2]");
  expect_data_error(dir / "array.safetensors", "not a JSON object");
  write_raw(dir / "dtype.safetensors", R"({"x": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}})");
  expect_data_error(dir / "dtype.safetensors", "not supported");
  write_raw(dir / "range.safetensors", R"({"x": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}})");
  expect_data_error(dir / "range.safetensors", "outside");
  write_raw(dir / "size.safetensors", R"({"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})");
  expect_data_error(dir / "size.safetensors", "needs 12 bytes");
  write_raw(dir / "overlap.safetensors",
            R"({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "y": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})");
  expect_data_error(dir / "overlap.safetensors", "overlap");
  write_raw(dir / "backwards.safetensors", R"({"x": {"dtype": "U8", "shape": [0], "data_offsets": [8, 4]}})");
  expect_data_error(dir / "backwards.safetensors", "backwards");
  write_raw(dir / "negative.safetensors", R"({"x": {"dtype": "U8", "shape": [-2], "data_offsets": [0, 2]}})");
  expect_data_error(dir / "negative.safetensors", "non-negative");
  write_raw(dir / "float.safetensors", R"({"x": {"dtype": "U8", "shape": [2], "data_offsets": [0.5, 2]}})");
  expect_data_error(dir / "float.safetensors", "non-negative");
  write_raw(dir / "noshape.safetensors", R"({"x": {"dtype": "U8", "data_offsets": [0, 2]}})");
  expect_data_error(dir / "noshape.safetensors", "shape");
  write_raw(dir / "meta.safetensors", R"({"__metadata__": {"a": 1}})");
  expect_data_error(dir / "meta.safetensors", "__metadata__");
  write_raw(dir / "overflow.safetensors", R"({"x": {"dtype": "F64", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}})");
  expect_data_error(dir / "overflow.safetensors", "x");
  // Through InputSource the same errors surface as DataError before anything runs.
  InputOptions o;
  o.files = {(dir / "overlap.safetensors").string()};
  EXPECT_THROW(InputSource({IoInfo{"x", DType::Float32, {2}, {""}}}, o), DataError);
}
