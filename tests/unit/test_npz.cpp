// .npz reader/writer tests. Reference archives were produced by numpy 1.24 and embedded as hex:
//   kNumpySavezCompressed: np.savez_compressed(f, x=np.arange(6, dtype='<f4').reshape(2, 3),
//                                              ids=np.array([7, 8, 9], dtype='<i8'), mask=np.array([True, False]))
//   kNumpySavez:           np.savez(f, a=np.array([1, 2, 3], dtype='<u2'), b=np.float32(2.5))
//                          (stored members, each local header carrying a zip64 extra field)
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/errors.h"
#include "io/npy.h"
#include "io/npz.h"
#include "io/zip_archive.h"

using namespace onnxquant;
namespace fs = std::filesystem;

namespace {

// 582 bytes
const char* const kNumpySavezCompressed =
    "504b0304140000000800000021004fe9002a550000009800000005001400782e6e707901001000980000000000000055000000000000009b"
    "ec17ea1b10c9c850c650ad9e925a9c5ca46ea5a06e9366a2aea3a09e965f54529498179f5f94920a12774bcc294e058a17672416a402f91a"
    "463a0ac69a3a0ab50a64032e063068b007120e4004c40d40bcc00100504b03041400000008000000210008651b5b4d000000980000000700"
    "14006964732e6e70790100100098000000000000004d000000000000009bec17ea1b10c9c850c650ad9e925a9c5ca46ea5a06e9369a1aea3"
    "a09e965f54529498179f5f94920a12774bcc294e058a17672416a402f91ac63a9a3a0ab50a14002e760608e080d29c501a00504b03041400"
    "0000080000002100ee19bb5d4600000082000000080014006d61736b2e6e707901001000820000000000000046000000000000009bec17ea"
    "1b10c9c850c650ad9e925a9c5ca46ea5a05e9364a8aea3a09e965f54529498179f5f94920a12774bcc294e058a17672416a402f91a463a9a"
    "3a0ab50a14002e460600504b01021403140000000800000021004fe9002a5500000098000000050000000000000000000000800100000000"
    "782e6e7079504b010214031400000008000000210008651b5b4d0000009800000007000000000000000000000080018c0000006964732e6e"
    "7079504b0102140314000000080000002100ee19bb5d46000000820000000800000000000000000000008001120100006d61736b2e6e7079"
    "504b050600000000030003009e000000920100000000";

// 500 bytes
const char* const kNumpySavez =
    "504b03041400000000000000210057ca31ab860000008600000005001400612e6e7079010010008600000000000000860000000000000093"
    "4e554d5059010076007b276465736372273a20273c7532272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065"
    "273a2028332c292c207d20202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020"
    "20202020202020202020202020200a010002000300504b030414000000000000002100648c22c3840000008400000005001400622e6e7079"
    "0100100084000000000000008400000000000000934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f"
    "6f72646572273a2046616c73652c20277368617065273a2028292c207d202020202020202020202020202020202020202020202020202020"
    "20202020202020202020202020202020202020202020202020202020202020202020200a00002040504b0102140314000000000000002100"
    "57ca31ab8600000086000000050000000000000000000000800100000000612e6e7079504b0102140314000000000000002100648c22c384"
    "000000840000000500000000000000000000008001bd000000622e6e7079504b0506000000000200020066000000780100000000";
// np.savez_compressed(f, big=(np.arange(3000000) % 7).astype('u1')): inflates past the first 1 MiB buffer.
// 4598 bytes
const char* const kNumpySavezCompressedBig =
    "504b03041400000008000000210090b71ed87211000040c72d00070014006269672e6e70790100100040c72d000000000072110000000000"
    "00edc83f0ec16000c6e1fa3b3845b78fa403b139808d580c2669b4621095af58700a17568e60f5bccb93f7f75aae17ab4d2bb925f75094f5"
    "2e86591a1ed749c8d2b0afe225e6a76d158bf2d3e7f9b12e9b5e1ff273d9fce174fc5d36cad267fad30649abdde9f6fa0000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000fe8037504b0102140314000000080000"
    "00210090b71ed87211000040c72d000700000000000000000000008001000000006269672e6e7079504b0506000000000100010035000000"
    "ab1100000000";

std::string from_hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return out;
}

template <typename T>
std::vector<T> values(const Tensor& t) {
  auto s = t.as<T>();
  return {s.begin(), s.end()};
}

template <typename F>
void expect_data_error(F&& f, std::initializer_list<std::string> fragments) {
  try {
    f();
    ADD_FAILURE() << "no DataError thrown";
  } catch (const DataError& e) {
    for (const auto& frag : fragments) EXPECT_NE(std::string(e.what()).find(frag), std::string::npos) << "'" << frag << "' not in: " << e.what();
  }
}

void set_le(std::string& s, size_t pos, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) s[pos + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint64_t get_le(const std::string& s, size_t pos, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(s[pos + i])) << (8 * i);
  return v;
}

const std::string kCentral("PK\x01\x02", 4), kLocal("PK\x03\x04", 4), kEnd("PK\x05\x06", 4);

class NpzFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("onnxq_npz_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path put(const std::string& name, const std::string& bytes) {
    const fs::path p = dir_ / name;
    fs::remove(p);  // rewriting in place would truncate, which ext4 turns into a slow flush
    std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p;
  }
  std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  // A zip built with our writer, for archives numpy would never produce.
  fs::path zip_of(const std::string& name, const std::vector<std::pair<std::string, std::string>>& members,
                  zip::WriteOptions options = {}) {
    const fs::path p = dir_ / name;
    std::ofstream out(p, std::ios::binary);
    zip::Writer w(out, options);
    for (const auto& [member, data] : members) w.add(member, {data});
    w.finish();
    return p;
  }
  fs::path dir_;
};

Tensor patterned(DType t, Shape shape) {
  Tensor x(t, std::move(shape));
  for (size_t i = 0; i < x.bytes.size(); ++i) x.bytes[i] = static_cast<std::byte>(t == DType::Bool ? i % 2 : (i * 37 + 11) % 251);
  return x;
}

}  // namespace

// ---- numpy's archives ----------------------------------------------------------------------------------

TEST_F(NpzFiles, ReadsNumpySavezCompressed) {
  const NamedTensors a = read_npz(put("c.npz", from_hex(kNumpySavezCompressed)));
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a.at("x").shape, (Shape{2, 3}));
  EXPECT_EQ(values<float>(a.at("x")), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(a.at("ids").dtype, DType::Int64);
  EXPECT_EQ(values<int64_t>(a.at("ids")), (std::vector<int64_t>{7, 8, 9}));
  EXPECT_EQ(a.at("mask").dtype, DType::Bool);
  EXPECT_EQ(values<uint8_t>(a.at("mask")), (std::vector<uint8_t>{1, 0}));
}

TEST_F(NpzFiles, ReadsNumpySavezWithZip64LocalExtras) {
  const NamedTensors a = read_npz(put("s.npz", from_hex(kNumpySavez)));
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a.at("a").dtype, DType::UInt16);
  EXPECT_EQ(values<uint16_t>(a.at("a")), (std::vector<uint16_t>{1, 2, 3}));
  EXPECT_TRUE(a.at("b").shape.empty());
  EXPECT_EQ(values<float>(a.at("b")), (std::vector<float>{2.5f}));
}

TEST_F(NpzFiles, InflatesLargeMemberInSteps) {
  const NamedTensors a = read_npz(put("big.npz", from_hex(kNumpySavezCompressedBig)));
  const Tensor& t = a.at("big");
  ASSERT_EQ(t.shape, (Shape{3000000}));
  const auto v = t.as<uint8_t>();
  for (size_t i = 0; i < v.size(); i += 99991) ASSERT_EQ(v[i], i % 7) << i;
  EXPECT_EQ(v[2999999], 2999999 % 7);
}

// ---- writing -------------------------------------------------------------------------------------------

TEST_F(NpzFiles, RoundTripsEveryDtype) {
  NamedTensors in;
  for (DType t : {DType::Float32, DType::Float64, DType::Float16, DType::Int8, DType::UInt8, DType::Int16, DType::UInt16, DType::Int32,
                  DType::UInt32, DType::Int64, DType::UInt64, DType::Bool})
    in[dtype_name(t)] = patterned(t, {3, 2});
  in["scalar"] = patterned(DType::Float32, {});
  in["empty"] = patterned(DType::Int32, {0, 4});
  in["ünïcode key"] = patterned(DType::UInt8, {2});
  const fs::path p = dir_ / "all.npz";
  write_npz(p, in);
  const NamedTensors out = read_npz(p);
  ASSERT_EQ(out.size(), in.size());
  for (const auto& [key, t] : in) {
    ASSERT_TRUE(out.count(key)) << key;
    EXPECT_EQ(out.at(key).dtype, t.dtype) << key;
    EXPECT_EQ(out.at(key).shape, t.shape) << key;
    EXPECT_EQ(out.at(key).bytes, t.bytes) << key;
  }
}

TEST_F(NpzFiles, WritesStoredNpyMembers) {
  NamedTensors in{{"b", patterned(DType::Int16, {4})}, {"a", patterned(DType::Float32, {2, 2})}};
  const fs::path p = dir_ / "ab.npz";
  write_npz(p, in);
  const zip::Reader z(p);
  ASSERT_EQ(z.entries().size(), 2u);
  EXPECT_EQ(z.entries()[0].name, "a.npy");
  EXPECT_EQ(z.entries()[1].name, "b.npy");
  for (const auto& e : z.entries()) {
    EXPECT_EQ(e.method, 0);
    EXPECT_EQ(z.read(e), npy_bytes(in.at(e.name.substr(0, 1))));  // read() also checks the CRC
  }
  write_npz(p, {});
  EXPECT_TRUE(read_npz(p).empty());
  EXPECT_EQ(slurp(p).size(), 22u);  // just the end record
}

TEST_F(NpzFiles, WriteIsAtomicAndRejectsBadArrays) {
  const fs::path p = put("keep.npz", "original");
  expect_data_error([&] { write_npz(p, {{"w", Tensor(DType::BFloat16, {2})}}); }, {p.string(), "'w'", "bfloat16"});
  expect_data_error([&] { write_npz(p, {{"", Tensor(DType::Float32, {2})}}); }, {p.string(), "empty name"});
  EXPECT_EQ(slurp(p), "original");
  EXPECT_THROW(write_npz(dir_ / "no" / "x.npz", {}), IoError);
}

TEST_F(NpzFiles, Zip64RecordsRoundTrip) {
  const std::string a = npy_bytes(patterned(DType::Int32, {3})), b = npy_bytes(patterned(DType::UInt8, {5}));
  const fs::path p = zip_of("z64.npz", {{"a.npy", a}, {"b.npy", b}}, {zip::Zip64::Always});
  const std::string bytes = slurp(p);
  EXPECT_NE(bytes.find(std::string("PK\x06\x06", 4)), std::string::npos);  // zip64 end record
  EXPECT_NE(bytes.find(std::string("PK\x06\x07", 4)), std::string::npos);  // and its locator
  const zip::Reader z(p);
  ASSERT_EQ(z.entries().size(), 2u);
  EXPECT_EQ(z.entries()[1].local_header_offset, bytes.find(kLocal, 1));
  EXPECT_EQ(z.entries()[1].uncompressed_size, b.size());
  const NamedTensors out = read_npz(p);
  EXPECT_EQ(out.at("a").bytes, patterned(DType::Int32, {3}).bytes);
  EXPECT_EQ(out.at("b").bytes, patterned(DType::UInt8, {5}).bytes);
}

TEST_F(NpzFiles, SkipsFolderEntries) {
  const fs::path p = zip_of("d.npz", {{"sub/", ""}, {"x.npy", npy_bytes(patterned(DType::Int8, {2}))}});
  EXPECT_EQ(read_npz(p).size(), 1u);
}

// ---- hostile archives ----------------------------------------------------------------------------------

TEST_F(NpzFiles, MissingOrNotZip) {
  expect_data_error([&] { read_npz(dir_ / "nope.npz"); }, {"nope.npz", "no such file"});
  expect_data_error([&] { read_npz(put("text.npz", "hello, this is not a zip archive at all")); }, {"text.npz", "no end of central directory"});
  expect_data_error([&] { read_npz(put("empty.npz", "")); }, {"empty.npz", "no end of central directory"});
  expect_data_error([&] { read_npz(dir_); }, {"not a regular file"});
}

TEST_F(NpzFiles, CrcMismatch) {
  std::string s = from_hex(kNumpySavez);
  const size_t data = s.find("\x93NUMPY") + 128;  // first element of 'a'
  s[data] ^= 0x40;
  expect_data_error([&] { read_npz(put("crc.npz", s)); }, {"crc.npz", "member 'a.npy'", "CRC mismatch"});
}

TEST_F(NpzFiles, CorruptDeflateNamesMember) {
  std::string s = from_hex(kNumpySavezCompressed);
  const size_t start = 30 + get_le(s, 26, 2) + get_le(s, 28, 2);  // first member's data
  for (size_t i = 0; i < 12; ++i) s[start + 10 + i] = static_cast<char>(0xff);
  expect_data_error([&] { read_npz(put("z.npz", s)); }, {"z.npz", "member '"});
}

TEST_F(NpzFiles, UnsupportedMethodAndEncryption) {
  std::string s = from_hex(kNumpySavez);
  const size_t cd = s.find(kCentral);
  std::string m = s;
  set_le(m, cd + 10, 12, 2);  // bzip2
  expect_data_error([&] { read_npz(put("m.npz", m)); }, {"m.npz", "member 'a.npy'", "compression method 12"});
  std::string e = s;
  set_le(e, cd + 8, 1, 2);
  expect_data_error([&] { read_npz(put("e.npz", e)); }, {"e.npz", "member 'a.npy'", "encrypted"});
}

TEST_F(NpzFiles, DirectoryOutsideFile) {
  const std::string s = from_hex(kNumpySavez);
  const size_t end = s.rfind(kEnd);
  std::string off = s;
  set_le(off, end + 16, 0x7fffff00, 4);
  expect_data_error([&] { read_npz(put("off.npz", off)); }, {"off.npz", "outside the file"});
  std::string count = s;
  set_le(count, end + 10, 60000, 2);
  expect_data_error([&] { read_npz(put("count.npz", count)); }, {"count.npz", "claims 60000 members"});
  std::string lho = s;
  set_le(lho, s.find(kCentral) + 42, 0x7ffffff0, 4);
  expect_data_error([&] { read_npz(put("lho.npz", lho)); }, {"lho.npz", "member 'a.npy'", "outside"});
  std::string csize = s;
  set_le(csize, s.find(kCentral) + 20, 0x70000000, 4);  // compressed size (stored: must equal the size)
  expect_data_error([&] { read_npz(put("csize.npz", csize)); }, {"csize.npz", "member 'a.npy'"});
}

TEST_F(NpzFiles, DeclaredSizeMustMatchInflatedSize) {
  const std::string s = from_hex(kNumpySavezCompressed);
  const size_t cd = s.find(kCentral);
  const uint64_t size = get_le(s, cd + 24, 4);
  std::string more = s, less = s, huge = s;
  set_le(more, cd + 24, size + 10, 4);
  expect_data_error([&] { read_npz(put("more.npz", more)); }, {"more.npz", "inflates to " + std::to_string(size)});
  set_le(less, cd + 24, size - 10, 4);
  expect_data_error([&] { read_npz(put("less.npz", less)); }, {"less.npz", "more than the declared"});
  // A claim of ~4 GiB must not be allocated up front: the stream ends long before.
  set_le(huge, cd + 24, 0xfffffff0, 4);
  expect_data_error([&] { read_npz(put("huge.npz", huge)); }, {"huge.npz", "inflates to " + std::to_string(size)});
}

TEST_F(NpzFiles, LocalHeaderMustAgree) {
  std::string s = from_hex(kNumpySavez);
  s[30] = 'z';  // first character of the local name
  expect_data_error([&] { read_npz(put("name.npz", s)); }, {"name.npz", "differs"});
  std::string sig = from_hex(kNumpySavez);
  sig[2] = 9;
  expect_data_error([&] { read_npz(put("sig.npz", sig)); }, {"sig.npz", "bad local header signature"});
}

TEST_F(NpzFiles, MembersMustBeDistinctNpyArrays) {
  const std::string ok = npy_bytes(patterned(DType::Int8, {2}));
  expect_data_error([&] { read_npz(zip_of("txt.npz", {{"readme.txt", "hi"}})); }, {"txt.npz", "'readme.txt'", "not a .npy"});
  expect_data_error([&] { read_npz(zip_of("dup.npz", {{"a.npy", ok}, {"a.npy", ok}})); }, {"dup.npz", "'a.npy'", "twice"});
  expect_data_error([&] { read_npz(zip_of("bad.npz", {{"a.npy", "this is not numpy data at all"}})); }, {"bad.npz", "member 'a.npy'", "bad magic"});
  const std::string dict = "{'descr': '|O', 'fortran_order': False, 'shape': (1,)}\n";
  const std::string object_npy = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(dict.size()) + '\0' + dict + std::string(8, '\0');
  expect_data_error([&] { read_npz(zip_of("obj.npz", {{"o.npy", object_npy}})); }, {"obj.npz", "member 'o.npy'", "'|O'"});
}

TEST_F(NpzFiles, EveryTruncationAndRandomCorruptionIsDataError) {
  std::mt19937 rng(99);
  for (const char* hex : {kNumpySavezCompressed, kNumpySavez}) {
    const std::string good = from_hex(hex);
    for (size_t n = 0; n < good.size(); ++n) {
      try {
        read_npz(put("cut.npz", good.substr(0, n)));
      } catch (const DataError&) {
      }
    }
    for (int trial = 0; trial < 1500; ++trial) {
      std::string bad = good;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) bad[rng() % bad.size()] = static_cast<char>(rng());
      try {
        read_npz(put("fuzz.npz", bad));
      } catch (const DataError&) {
      }
    }
  }
}
