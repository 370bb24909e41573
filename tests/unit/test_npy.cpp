// .npy reader/writer tests. Reference files were produced by numpy 1.24 (np.save and
// numpy.lib.format.write_array) and are embedded as hex so the tests never need Python.
#include <gtest/gtest.h>

#include "support/expect_helpers.h"
#include "support/file_fixture.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/errors.h"
#include "core/half.h"
#include "io/npy.h"

using namespace onnxquant;
using onnxquant::test::expect_data_error;
using onnxquant::test::values;
namespace fs = std::filesystem;

namespace {

// 152 bytes
const char* const kNumpyF32x2x3 =
    "934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c202773686170"
    "65273a2028322c2033292c207d20202020202020202020202020202020202020202020202020202020202020202020202020202020202020"
    "2020202020202020202020202020200a000000000000803f0000004000004040000080400000a040";

// 134 bytes
const char* const kNumpyV2I16 =
    "934e554d50590200740000007b276465736372273a20273c6932272c2027666f727472616e5f6f72646572273a2046616c73652c20277368"
    "617065273a2028332c292c207d20202020202020202020202020202020202020202020202020202020202020202020202020202020202020"
    "2020202020202020202020202020200a0100feff2c01";

// 132 bytes
const char* const kNumpyV3U8 =
    "934e554d50590300740000007b276465736372273a20277c7531272c2027666f727472616e5f6f72646572273a2046616c73652c20277368"
    "617065273a2028322c2032292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020"
    "2020202020202020202020202020200a010203ff";

// 224 bytes
const char* const kNumpyFortranI32 =
    "934e554d5059010076007b276465736372273a20273c6934272c2027666f727472616e5f6f72646572273a20547275652c20277368617065"
    "273a2028322c20332c2034292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020"
    "2020202020202020202020202020200a000000000c00000004000000100000000800000014000000010000000d0000000500000011000000"
    "0900000015000000020000000e00000006000000120000000a00000016000000030000000f00000007000000130000000b00000017000000";

// 140 bytes
const char* const kNumpyBigF4 =
    "934e554d5059010076007b276465736372273a20273e6634272c2027666f727472616e5f6f72646572273a2046616c73652c202773686170"
    "65273a2028332c292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020"
    "2020202020202020202020202020200a3fc00000c000000040500000";

// 160 bytes
const char* const kNumpyBigI8 =
    "934e554d5059010076007b276465736372273a20273e6938272c2027666f727472616e5f6f72646572273a2046616c73652c202773686170"
    "65273a2028322c2032292c207d20202020202020202020202020202020202020202020202020202020202020202020202020202020202020"
    "2020202020202020202020202020200a0000000000000001fffffffffffffffe00000100000000000000000000000007";

// 134 bytes
const char* const kNumpyBigF2 =
    "934e554d5059010076007b276465736372273a20273e6632272c2027666f727472616e5f6f72646572273a2046616c73652c202773686170"
    "65273a2028332c292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020"
    "2020202020202020202020202020200a3800bc007bff";

// 136 bytes
const char* const kNumpyScalarF8 =
    "934e554d5059010076007b276465736372273a20273c6638272c2027666f727472616e5f6f72646572273a2046616c73652c202773686170"
    "65273a2028292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020"
    "2020202020202020202020202020200a0000000000000c40";

std::string from_hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return out;
}

// A fresh folder per test, removed afterwards.
using NpyFiles = onnxquant::test::FileFixture;

// A version 1.0 file with the given header dict (padded like numpy) followed by `data`.
std::string npy_with_header(const std::string& dict, const std::string& data = {}) {
  std::string h = dict;
  while ((10 + h.size() + 1) % 64) h += ' ';
  h += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>(h.size() >> 8);
  return out + h + data;
}

std::string dict_for(const std::string& descr, const std::string& shape, const std::string& fortran = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
}

template <typename T>
std::string raw(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}



Tensor patterned(DType t, Shape shape) {  // distinct bytes in every position, valid for bool too
  Tensor x(t, std::move(shape));
  for (size_t i = 0; i < x.bytes.size(); ++i) x.bytes[i] = static_cast<std::byte>(t == DType::Bool ? i % 2 : (i * 37 + 11) % 251);
  return x;
}

const std::vector<DType> kAllDtypes = {DType::Float32, DType::Float64, DType::Float16, DType::Int8,  DType::UInt8,  DType::Int16,
                                       DType::UInt16,  DType::Int32,   DType::UInt32,  DType::Int64, DType::UInt64, DType::Bool};

}  // namespace

// ---- writing -----------------------------------------------------------------------------------------

TEST(NpyWrite, MatchesNumpyBytesExactly) {
  Tensor t(DType::Float32, {2, 3});
  for (int i = 0; i < 6; ++i) t.as<float>()[i] = static_cast<float>(i);
  const std::string bytes = npy_bytes(t);
  EXPECT_EQ(bytes, from_hex(kNumpyF32x2x3));
  ASSERT_EQ(bytes.size(), 128u + 24u);
  EXPECT_EQ(bytes.substr(10, 59), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
  EXPECT_EQ(bytes[127], '\n');
  EXPECT_EQ(npy_header(t), bytes.substr(0, 128));
}

TEST(NpyWrite, ScalarMatchesNumpyBytes) {
  Tensor t(DType::Float64, {});
  t.as<double>()[0] = 3.5;
  EXPECT_EQ(npy_bytes(t), from_hex(kNumpyScalarF8));
}

TEST(NpyWrite, HeaderIsAlignedForEveryRank) {
  for (size_t rank = 0; rank < 12; ++rank) {
    const std::string h = npy_header(Tensor(DType::UInt8, Shape(rank, 1)));
    EXPECT_EQ(h.size() % 64, 0u) << rank;
    EXPECT_EQ(h.back(), '\n');
  }
}

TEST(NpyWrite, RejectsTypesNumpyCannotHold) {
  EXPECT_THROW(npy_bytes(Tensor(DType::BFloat16, {2})), DataError);
  Tensor bad(DType::Float32, {2});
  bad.bytes.resize(5);
  EXPECT_THROW(npy_bytes(bad), DataError);
}

TEST_F(NpyFiles, WriteIsAtomicAndNamesTheFile) {
  const fs::path p = put("keep.npy", "original");
  expect_data_error([&] { write_npy(p, Tensor(DType::BFloat16, {2})); }, {p.string(), "bfloat16"});
  std::ifstream in(p, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "original");
  EXPECT_THROW(write_npy(dir_ / "missing" / "x.npy", Tensor(DType::Float32, {1})), IoError);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator{}), 1);  // no temp files left
}

TEST_F(NpyFiles, RoundTripsEveryDtype) {
  for (DType t : kAllDtypes) {
    for (const Shape& shape : {Shape{}, Shape{5}, Shape{2, 3, 4}, Shape{0, 3}}) {
      const Tensor x = patterned(t, shape);
      const fs::path p = dir_ / "x.npy";
      write_npy(p, x);
      const Tensor y = read_npy(p);
      EXPECT_EQ(y.dtype, t) << dtype_name(t);
      EXPECT_EQ(y.shape, shape) << dtype_name(t);
      EXPECT_EQ(y.bytes, x.bytes) << dtype_name(t) << " " << shape_string(shape);
      const Tensor z = parse_npy(npy_bytes(x), "mem");
      EXPECT_EQ(z.bytes, x.bytes);
      EXPECT_EQ(z.shape, shape);
    }
  }
}

// ---- reading numpy's files ----------------------------------------------------------------------------

TEST(NpyRead, ReadsNumpyFloat32) {
  const Tensor t = parse_npy(from_hex(kNumpyF32x2x3), "f.npy");
  EXPECT_EQ(t.dtype, DType::Float32);
  EXPECT_EQ(t.shape, (Shape{2, 3}));
  EXPECT_EQ(values<float>(t), (std::vector<float>{0, 1, 2, 3, 4, 5}));
}

TEST(NpyRead, ReadsVersion2And3Headers) {
  const Tensor a = parse_npy(from_hex(kNumpyV2I16), "v2.npy");
  EXPECT_EQ(a.dtype, DType::Int16);
  EXPECT_EQ(values<int16_t>(a), (std::vector<int16_t>{1, -2, 300}));
  const Tensor b = parse_npy(from_hex(kNumpyV3U8), "v3.npy");
  EXPECT_EQ(b.dtype, DType::UInt8);
  EXPECT_EQ(b.shape, (Shape{2, 2}));
  EXPECT_EQ(values<uint8_t>(b), (std::vector<uint8_t>{1, 2, 3, 255}));
}

TEST(NpyRead, ReordersNumpyFortranArray) {
  const Tensor t = parse_npy(from_hex(kNumpyFortranI32), "f.npy");
  EXPECT_EQ(t.shape, (Shape{2, 3, 4}));
  std::vector<int32_t> expect(24);
  for (int i = 0; i < 24; ++i) expect[i] = i;
  EXPECT_EQ(values<int32_t>(t), expect);
}

TEST(NpyRead, SwapsBigEndian) {
  EXPECT_EQ(values<float>(parse_npy(from_hex(kNumpyBigF4), "b.npy")), (std::vector<float>{1.5f, -2.f, 3.25f}));
  const Tensor i8 = parse_npy(from_hex(kNumpyBigI8), "b.npy");
  EXPECT_EQ(i8.dtype, DType::Int64);
  EXPECT_EQ(values<int64_t>(i8), (std::vector<int64_t>{1, -2, int64_t{1} << 40, 7}));
  const Tensor f2 = parse_npy(from_hex(kNumpyBigF2), "b.npy");
  EXPECT_EQ(f2.dtype, DType::Float16);
  EXPECT_EQ(values<uint16_t>(f2), (std::vector<uint16_t>{14336, 48128, 31743}));
  EXPECT_EQ(f2.to_doubles(), (std::vector<double>{0.5, -1, 65504}));
}

TEST(NpyRead, ScalarIsZeroDim) {
  const Tensor t = parse_npy(from_hex(kNumpyScalarF8), "s.npy");
  EXPECT_TRUE(t.shape.empty());
  EXPECT_EQ(values<double>(t), (std::vector<double>{3.5}));
}

TEST(NpyRead, MapsEveryDtypeString) {
  const std::vector<std::pair<std::string, DType>> cases = {
      {"<f4", DType::Float32}, {"<f8", DType::Float64}, {"<f2", DType::Float16}, {"<i1", DType::Int8},   {"|i1", DType::Int8},
      {"<i2", DType::Int16},   {"<i4", DType::Int32},   {"<i8", DType::Int64},   {"|u1", DType::UInt8},  {"<u1", DType::UInt8},
      {"<u2", DType::UInt16},  {"<u4", DType::UInt32},  {"<u8", DType::UInt64},  {"|b1", DType::Bool},   {"=f4", DType::Float32},
      {"=i8", DType::Int64},   {">i1", DType::Int8},    {">u4", DType::UInt32}};
  for (const auto& [descr, dtype] : cases) {
    const size_t size = dtype_size(dtype);
    const Tensor t = parse_npy(npy_with_header(dict_for(descr, "(2,)"), std::string(2 * size, '\x01')), "m.npy");
    EXPECT_EQ(t.dtype, dtype) << descr;
    EXPECT_EQ(t.shape, (Shape{2})) << descr;
  }
}

TEST(NpyRead, NormalizesBoolBytes) {
  const Tensor t = parse_npy(npy_with_header(dict_for("|b1", "(3,)"), std::string("\x00\x01\x07", 3)), "b.npy");
  EXPECT_EQ(values<uint8_t>(t), (std::vector<uint8_t>{0, 1, 1}));
}

TEST(NpyRead, AcceptsPython2LongDimsAndDoubleQuotes) {
  const Tensor t = parse_npy(npy_with_header("{\"descr\": \"<i4\", \"fortran_order\": False, \"shape\": (1L, 2L)}", raw<int32_t>({4, 5})), "p.npy");
  EXPECT_EQ(t.shape, (Shape{1, 2}));
  EXPECT_EQ(values<int32_t>(t), (std::vector<int32_t>{4, 5}));
}

TEST(NpyRead, IgnoresTrailingBytesLikeNumpy) {
  const Tensor t = parse_npy(npy_with_header(dict_for("<i4", "(1,)"), raw<int32_t>({4, 5})), "t.npy");
  EXPECT_EQ(values<int32_t>(t), (std::vector<int32_t>{4}));
}

// Fortran data for `shape` whose element at C index c holds c; reading must give 0, 1, 2, ...
std::string fortran_data(const Shape& shape) {
  const int64_t n = element_count(shape);
  std::vector<int32_t> f(static_cast<size_t>(n));
  for (int64_t fi = 0; fi < n; ++fi) {
    int64_t rest = fi, c = 0, c_stride = 1;
    std::vector<int64_t> idx(shape.size());
    for (size_t k = 0; k < shape.size(); ++k) idx[k] = rest % shape[k], rest /= shape[k];
    for (size_t k = shape.size(); k-- > 0;) c += idx[k] * c_stride, c_stride *= shape[k];
    f[static_cast<size_t>(fi)] = static_cast<int32_t>(c);
  }
  return raw(f);
}

std::string tuple_of(const Shape& s) {
  std::string out = "(";
  for (int64_t d : s) out += std::to_string(d) + ",";
  return out + ")";
}

TEST(NpyRead, FortranOrderAnyRank) {
  std::mt19937 rng(7);
  for (size_t rank = 1; rank <= 6; ++rank) {
    for (int trial = 0; trial < 3; ++trial) {
      Shape shape(rank);
      for (auto& d : shape) d = 1 + static_cast<int64_t>(rng() % 4);
      const Tensor t = parse_npy(npy_with_header(dict_for("<i4", tuple_of(shape), "True"), fortran_data(shape)), "f.npy");
      ASSERT_EQ(t.shape, shape);
      const auto v = values<int32_t>(t);
      for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], static_cast<int32_t>(i)) << shape_string(shape);
    }
  }
}

// ---- NpyReader -----------------------------------------------------------------------------------------

TEST_F(NpyFiles, ReaderReadsRowSlices) {
  Tensor x(DType::Int32, {10, 3});
  for (int i = 0; i < 30; ++i) x.as<int32_t>()[i] = i;
  const fs::path p = dir_ / "rows.npy";
  write_npy(p, x);
  NpyReader r(p);
  EXPECT_EQ(r.dtype(), DType::Int32);
  EXPECT_EQ(r.shape(), (Shape{10, 3}));
  EXPECT_EQ(r.rows(), 10);
  const Tensor s = r.read_rows(2, 3);
  EXPECT_EQ(s.shape, (Shape{3, 3}));
  EXPECT_EQ(values<int32_t>(s), (std::vector<int32_t>{6, 7, 8, 9, 10, 11, 12, 13, 14}));
  EXPECT_EQ(r.read_rows(10, 0).shape, (Shape{0, 3}));
  expect_data_error([&] { r.read_rows(8, 3); }, {p.string(), "out of range"});
  EXPECT_THROW(r.read_rows(-1, 1), DataError);
  EXPECT_THROW(r.read_rows(0, -1), DataError);
  EXPECT_THROW(r.read_rows(int64_t{1} << 62, int64_t{1} << 62), DataError);
  NpyReader moved = std::move(r);
  EXPECT_EQ(values<int32_t>(moved.read_rows(9, 1)), (std::vector<int32_t>{27, 28, 29}));
}

TEST_F(NpyFiles, ReaderScalarHasOneRow) {
  NpyReader r(put("s.npy", from_hex(kNumpyScalarF8)));
  EXPECT_EQ(r.rows(), 1);
  const Tensor t = r.read_rows(0, 1);
  EXPECT_TRUE(t.shape.empty());
  EXPECT_EQ(values<double>(t), (std::vector<double>{3.5}));
  EXPECT_THROW(r.read_rows(1, 1), DataError);
}

TEST_F(NpyFiles, ReaderSlicesFortranAndBigEndian) {
  const Shape shape{5, 3, 2};
  NpyReader r(put("f.npy", npy_with_header(dict_for("<i4", tuple_of(shape), "True"), fortran_data(shape))));
  for (int64_t first = 0; first < 5; ++first)
    for (int64_t count = 0; first + count <= 5; ++count) {
      const Tensor t = r.read_rows(first, count);
      ASSERT_EQ(t.shape, (Shape{count, 3, 2}));
      const auto v = values<int32_t>(t);
      for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], static_cast<int32_t>(first * 6 + static_cast<int64_t>(i)));
    }
  NpyReader b(put("b.npy", from_hex(kNumpyBigI8)));
  EXPECT_EQ(values<int64_t>(b.read_rows(1, 1)), (std::vector<int64_t>{int64_t{1} << 40, 7}));
}

TEST_F(NpyFiles, ReaderSlicesLargeFortranStack) {
  // Rows are 4 bytes apart within a run and runs are over 1 MiB apart: exercises the windowed gather.
  const Shape shape{300000, 3};
  NpyReader r(put("big.npy", npy_with_header(dict_for("<i4", tuple_of(shape), "True"), fortran_data(shape))));
  const Tensor t = r.read_rows(123456, 4);
  EXPECT_EQ(values<int32_t>(t), (std::vector<int32_t>{370368, 370369, 370370, 370371, 370372, 370373, 370374, 370375, 370376,
                                                      370377, 370378, 370379}));
  const Tensor all = read_npy(dir_ / "big.npy");
  EXPECT_EQ(all.as<int32_t>()[899999], 899999);
}

TEST_F(NpyFiles, ReaderReadsOnDemand) {
  // The reader holds the file open and reads rows when asked: a file truncated after opening is
  // reported as such, not crashed on.
  Tensor x(DType::Float32, {100, 4});
  const fs::path p = dir_ / "t.npy";
  write_npy(p, x);
  NpyReader r(p);
  fs::resize_file(p, 200);
  EXPECT_EQ(r.read_rows(0, 1).shape, (Shape{1, 4}));
  expect_data_error([&] { r.read_rows(90, 10); }, {p.string(), "ended early"});
}

// ---- hostile files -------------------------------------------------------------------------------------

TEST_F(NpyFiles, MissingFileOrFolder) {
  expect_data_error([&] { read_npy(dir_ / "nope.npy"); }, {"nope.npy", "no such file"});
  expect_data_error([&] { NpyReader r(dir_); }, {dir_.string(), "not a regular file"});
}

TEST_F(NpyFiles, TruncatedHeaderAndBadMagic) {
  const std::string good = from_hex(kNumpyF32x2x3);
  expect_data_error([&] { read_npy(put("short.npy", good.substr(0, 8))); }, {"short.npy", "too short"});
  expect_data_error([&] { read_npy(put("cut.npy", good.substr(0, 60))); }, {"cut.npy", "header length 118", "past the end"});
  std::string magic = good;
  magic[1] = 'X';
  expect_data_error([&] { read_npy(put("magic.npy", magic)); }, {"magic.npy", "bad magic"});
  std::string version = good;
  version[6] = 4;
  expect_data_error([&] { read_npy(put("v4.npy", version)); }, {"v4.npy", "version 4.0"});
  std::string v2 = from_hex(kNumpyV2I16);
  v2[11] = '\x7f';  // header length ~2 GiB in a 134-byte file
  expect_data_error([&] { read_npy(put("v2.npy", v2)); }, {"v2.npy", "past the end"});
}

TEST(NpyHostile, MalformedDict) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), ", "unexpected end"},
      {"'descr': '<f4'}", "expected '{'"},
      {"{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}", "malformed"},
      {"{'descr': '<f4', 'fortran_order': False}", "lacks"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", "malformed"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'more': 'x'}", "unexpected key 'more'"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", "duplicate key"},
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", "malformed"},
      {"{'descr': '<f4', 'fortran_order': None, 'shape': (2,)}", "not True/False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [2]}", "not a tuple"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", "negative dimension"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,)}", "malformed"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", "too large"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} junk", "after the dict"},
      {"{True: '<f4'}", "keys must be strings"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::string(80, '1') + ",)}", "too large"},
  };
  for (const auto& [dict, fragment] : cases) expect_data_error([&] { parse_npy(npy_with_header(dict, std::string(8, '\0')), "bad.npy"); }, {"bad.npy", fragment});
}

TEST(NpyHostile, AbsurdShapes) {
  // 2^40 float32 elements: must be refused by comparing with the data size, not by trying to allocate 4 TiB.
  expect_data_error([] { parse_npy(npy_with_header(dict_for("<f4", "(1099511627776,)"), std::string(16, '\0')), "huge.npy"); },
                    {"huge.npy", "needs 4398046511104", "truncated"});
  expect_data_error([] { parse_npy(npy_with_header(dict_for("<f4", "(4611686018427387904, 4)"), ""), "over.npy"); },
                    {"over.npy", "too many elements"});
  // A zero dim makes the array empty, but the other dims still must not overflow a row's size.
  expect_data_error([] { parse_npy(npy_with_header(dict_for("<f4", "(0, 4611686018427387904, 4611686018427387904)"), ""), "z.npy"); },
                    {"z.npy", "too many elements"});
  std::string deep = "(";
  for (int i = 0; i < 65; ++i) deep += "1,";
  expect_data_error([&] { parse_npy(npy_with_header(dict_for("<f4", deep + ")"), ""), "deep.npy"); }, {"deep.npy", "dimensions"});
}

TEST(NpyHostile, ShortData) {
  expect_data_error([] { parse_npy(npy_with_header(dict_for("<f4", "(2, 3)"), std::string(23, '\0')), "short.npy"); },
                    {"short.npy", "data is 23 bytes", "[2,3]", "needs 24"});
}

TEST(NpyHostile, UnsupportedDtypesNameFileAndType) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"'|O'", "'|O'"},     {"'<U5'", "'<U5'"},   {"'|S3'", "'|S3'"},       {"'<c8'", "'<c8'"},  {"'<M8[ns]'", "'<M8[ns]'"},
      {"'|V2'", "'|V2'"},   {"'<f3'", "'<f3'"},   {"'<i16'", "'<i16'"},     {"'float32'", "'float32'"}, {"''", "''"},
      {"[('a', '<f4'), ('b', '<i4')]", "structured"},
  };
  for (const auto& [descr, fragment] : cases) {
    const std::string dict = "{'descr': " + descr + ", 'fortran_order': False, 'shape': (2,), }";
    expect_data_error([&] { parse_npy(npy_with_header(dict, std::string(64, '\0')), "obj.npy"); }, {"obj.npy", "unsupported dtype", fragment});
  }
}

TEST(NpyHostile, EveryTruncationAndRandomCorruptionIsDataError) {
  const std::vector<std::string> seeds = {from_hex(kNumpyF32x2x3), from_hex(kNumpyV2I16), from_hex(kNumpyFortranI32), from_hex(kNumpyBigI8)};
  std::mt19937 rng(1234);
  for (const std::string& good : seeds) {
    for (size_t n = 0; n < good.size(); ++n) {
      try {
        parse_npy(good.substr(0, n), "cut.npy");
      } catch (const DataError&) {
      }
    }
    for (int trial = 0; trial < 3000; ++trial) {
      std::string bad = good;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) bad[rng() % std::min<size_t>(bad.size(), 140)] = static_cast<char>(rng());
      try {
        parse_npy(bad, "fuzz.npy");
      } catch (const DataError&) {
      }
    }
  }
}
