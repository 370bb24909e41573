// Ranges file: round trips, schema, every rejected input names the file and key; model hash check;
// SHA-256 against the FIPS 180-4 test vectors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "calib/ranges_file.h"
#include "core/errors.h"
#include "core/sha256.h"

using namespace onnxquant;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("onnxq-ranges-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

const std::string kHashA = sha256_hex("model a");
const std::string kHashB = sha256_hex("model b");

RangesFile sample_file() {
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0.3f, 2.0f);
  RangesFile f;
  f.model_file = "resnet50.onnx";
  f.model_sha256 = kHashA;
  f.method.method = RangeMethod::Percentile;
  f.method.percentile.percentile = 99.9;
  f.samples = 100;
  for (const char* name : {"conv1_out", "relu/out:0", "fc"}) {
    Observer o;
    std::vector<float> v(20000);
    for (auto& x : v) x = d(rng);
    if (std::string(name).starts_with("relu"))
      for (auto& x : v) x = std::max(x, 0.0f);
    o.observe(v);
    f.tensors.emplace(name, make_tensor_range(o, select_range(o, f.method)));
  }
  return f;
}

// Loads `j` from a file and expects a DataError whose message contains every fragment.
void expect_rejected(const json& j, std::initializer_list<std::string> fragments) {
  TempDir dir;
  const fs::path p = dir.path() / "ranges.json";
  write_text(p, j.dump());
  try {
    load_ranges(p);
    ADD_FAILURE() << "accepted: " << j.dump().substr(0, 200);
  } catch (const DataError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
    for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
  }
}

json valid_json() { return ranges_to_json(sample_file()); }

}  // namespace

TEST(RangesFile, SaveLoadRoundTripIsExact) {
  TempDir dir;
  const RangesFile f = sample_file();
  const fs::path p = dir.path() / "ranges.json";
  save_ranges(p, f);
  const RangesFile g = load_ranges(p);
  EXPECT_EQ(g.source, p);
  EXPECT_EQ(g.format_version, kRangesFormatVersion);
  EXPECT_FALSE(g.tool_version.empty());
  EXPECT_EQ(g.model_file, f.model_file);
  EXPECT_EQ(g.model_sha256, f.model_sha256);
  EXPECT_EQ(g.method.method, RangeMethod::Percentile);
  EXPECT_EQ(g.method.target, QuantTarget::UInt8Asymmetric);
  EXPECT_EQ(g.method.percentile.percentile, 99.9);
  EXPECT_EQ(g.samples, 100u);
  ASSERT_EQ(g.tensors.size(), f.tensors.size());
  for (const auto& [name, t] : f.tensors) {
    const TensorRange& u = g.tensors.at(name);
    EXPECT_EQ(u.range, t.range) << name;  // doubles round-trip bit-exactly through the JSON text
    EXPECT_EQ(u.observed_min, t.observed_min);
    EXPECT_EQ(u.observed_max, t.observed_max);
    EXPECT_EQ(u.count, t.count);
    EXPECT_FALSE(u.observer) << "histograms are omitted by default";
  }
  EXPECT_EQ(g.ranges().at("fc"), f.tensors.at("fc").range);
  // Same scale/zero point from the loaded ranges as from the in-memory ones.
  for (const auto& [name, r] : g.ranges()) EXPECT_EQ(compute_qparams(r, g.method.target), compute_qparams(f.tensors.at(name).range, f.method.target));
}

TEST(RangesFile, SchemaHasTheDocumentedKeys) {
  const json j = valid_json();
  for (const char* key : {"format", "format_version", "tool_version", "model", "method", "samples", "tensors"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["format"], "onnxquant-ranges");
  EXPECT_EQ(j["method"]["name"], "percentile");
  EXPECT_EQ(j["method"]["target"], "uint8_asymmetric");
  EXPECT_EQ(j["method"]["params"]["percentile"], 99.9);
  EXPECT_EQ(j["model"]["sha256"], kHashA);
  const json& t = j["tensors"]["conv1_out"];
  for (const char* key : {"min", "max", "observed_min", "observed_max", "count"}) EXPECT_TRUE(t.contains(key)) << key;
  EXPECT_FALSE(t.contains("histogram"));
}

TEST(RangesFile, HistogramsRoundTripAndAllowAnotherMethod) {
  TempDir dir;
  const RangesFile f = sample_file();
  const fs::path p = dir.path() / "ranges.json";
  save_ranges(p, f, {HistogramOutput::Include});
  const RangesFile g = load_ranges(p);
  for (const auto& [name, t] : f.tensors) {
    ASSERT_TRUE(g.tensors.at(name).observer) << name;
    EXPECT_EQ(*g.tensors.at(name).observer, *t.observer) << name;  // exact, bin for bin
  }
  RangeOptions mse;
  mse.method = RangeMethod::Mse;
  mse.target = QuantTarget::Int8Symmetric;
  const RangesFile h = recompute_ranges(g, mse);
  EXPECT_EQ(h.method.method, RangeMethod::Mse);
  for (const auto& [name, t] : f.tensors) EXPECT_EQ(h.tensors.at(name).range, select_range(*t.observer, mse)) << name;

  RangesFile no_hist = load_ranges([&] {
    save_ranges(p, f);
    return p;
  }());
  EXPECT_THROW(recompute_ranges(no_hist, mse), CalibrationError);
}

TEST(RangesFile, RejectsBadFilesWithClearMessages) {
  TempDir dir;
  EXPECT_THROW(load_ranges(dir.path() / "missing.json"), DataError);
  const fs::path bad = dir.path() / "bad.json";
  write_text(bad, "{\"format\": \"onnxquant-ranges\", ");
  try {
    load_ranges(bad);
    ADD_FAILURE();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(bad.string()), std::string::npos) << e.what();
  }

  expect_rejected(json::array(), {"top level"});
  json j = valid_json();
  j["format"] = "something-else";
  expect_rejected(j, {"format", "not an onnxquant ranges file"});
  j = valid_json();
  j["format_version"] = 2;
  expect_rejected(j, {"format_version", "newer onnxquant"});
  j = valid_json();
  j.erase("samples");
  expect_rejected(j, {"samples: missing"});
  j = valid_json();
  j["tensors"]["fc"].erase("max");
  expect_rejected(j, {"tensors.fc.max: missing"});
  j = valid_json();
  j["tensors"]["fc"]["min"] = "low";
  expect_rejected(j, {"tensors.fc.min", "expected a number"});
  j = valid_json();
  j["tensors"]["fc"]["min"] = std::nan("");  // nlohmann writes NaN as null
  expect_rejected(j, {"tensors.fc.min", "NaN"});
  j = valid_json();
  j["tensors"]["fc"]["min"] = 2.0;
  j["tensors"]["fc"]["max"] = 1.0;
  expect_rejected(j, {"tensors.fc", "greater than max"});
  j = valid_json();
  j["tensors"]["fc"]["min"] = 0.5;
  j["tensors"]["fc"]["max"] = 1.0;
  expect_rejected(j, {"tensors.fc", "must contain 0"});
  j = valid_json();
  j["model"]["sha256"] = "abc";
  expect_rejected(j, {"model.sha256"});
  j = valid_json();
  j["method"]["name"] = "kl";
  expect_rejected(j, {"method.name", "unknown method 'kl'"});
  j = valid_json();
  j["method"]["params"]["percentile"] = 150;
  expect_rejected(j, {"method.params", "percentile"});
  j = valid_json();
  j["tensors"]["fc"]["count"] = -3;
  expect_rejected(j, {"tensors.fc.count"});
}

TEST(RangesFile, RejectsInconsistentHistograms) {
  RangesFile f = sample_file();
  json j = ranges_to_json(f, {HistogramOutput::Include});
  json h = j;
  h["tensors"]["fc"]["histogram"]["counts"][0] = h["tensors"]["fc"]["histogram"]["counts"][0].get<uint64_t>() + 1;
  expect_rejected(h, {"tensors.fc.histogram", "differs from count"});
  h = j;
  h["tensors"]["fc"]["histogram"]["width_log2"] = h["tensors"]["fc"]["histogram"]["width_log2"].get<int>() - 3;
  expect_rejected(h, {"tensors.fc.histogram"});
  h = j;
  h["tensors"]["fc"]["histogram"].erase("zeros");
  expect_rejected(h, {"tensors.fc.histogram.zeros: missing"});
}

TEST(RangesFile, ModelHashMismatchNamesBothHashes) {
  TempDir dir;
  const fs::path p = dir.path() / "ranges.json";
  save_ranges(p, sample_file());
  const RangesFile f = load_ranges(p);
  EXPECT_NO_THROW(check_ranges_match_model(f, kHashA, "resnet50.onnx"));
  try {
    check_ranges_match_model(f, kHashB, "/models/mobilenet.onnx");
    ADD_FAILURE();
  } catch (const CalibrationError& e) {
    const std::string msg = e.what();
    for (const std::string& s : {kHashA, kHashB, std::string("/models/mobilenet.onnx"), std::string("resnet50.onnx"), p.string()})
      EXPECT_NE(msg.find(s), std::string::npos) << s << " not in: " << msg;
    EXPECT_EQ(e.exit_code(), static_cast<int>(ErrorKind::Calibration));
  }
}

TEST(RangesFile, SaveIsAtomicAndRefusesInvalidRanges) {
  TempDir dir;
  const fs::path p = dir.path() / "ranges.json";
  save_ranges(p, sample_file());
  const std::string before = read_text(p);
  RangesFile broken = sample_file();
  broken.tensors.at("fc").range = {0.5, 1.0};
  EXPECT_THROW(save_ranges(p, broken), InternalError);
  broken.tensors.at("fc").range = {-1.0, std::nan("")};
  EXPECT_THROW(save_ranges(p, broken), InternalError);
  EXPECT_EQ(read_text(p), before);
  EXPECT_THROW(save_ranges(dir.path() / "no-such-dir" / "r.json", sample_file()), IoError);
  // Nothing but the one file is left behind (no temp files).
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator{}), 1);
}

// ---- SHA-256 ----

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // The million 'a' again, fed in uneven pieces across block boundaries.
  Sha256 h;
  const std::string chunk(997, 'a');
  size_t left = 1000000;
  while (left > 0) {
    const size_t n = std::min(left, chunk.size());
    h.update(chunk.data(), n);
    left -= n;
  }
  EXPECT_EQ(h.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, SplitUpdatesEqualOneShot) {
  std::mt19937 rng(2);
  std::string data(300, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  for (size_t len : {0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 300}) {
    const std::string_view s(data.data(), len);
    const std::string expected = sha256_hex(s);
    for (size_t cut = 0; cut <= len; cut += 7) {
      Sha256 h;
      h.update(s.substr(0, cut));
      h.update(s.substr(cut));
      EXPECT_EQ(h.hex_digest(), expected) << len << " " << cut;
    }
  }
}

TEST(Sha256, HashesFiles) {
  TempDir dir;
  const fs::path p = dir.path() / "model.onnx";
  write_text(p, "abc");
  EXPECT_EQ(sha256_file_hex(p), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_THROW(sha256_file_hex(dir.path() / "missing.onnx"), LoadError);
  EXPECT_THROW(sha256_file_hex(dir.path()), LoadError);
  EXPECT_TRUE(is_sha256_hex(sha256_hex("x")));
  EXPECT_FALSE(is_sha256_hex("ABC"));
}
