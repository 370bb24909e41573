// `cast` on the corpus: float16 classifiers must agree with float32 on the eval photos (cosine >= 0.999),
// PP-OCRv4 det (opset 11, Constant-node weights, dynamic dims) casts and agrees, bfloat16 falls back to
// half weights with float32 compute because ORT 1.30's CPU EP refuses bf16 compute; every written file
// passes the ONNX checker and loads in ORT. Measured numbers are printed for the record.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <onnx/checker.h>

#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "exec/executor.h"
#include "io/npy.h"
#include "ir/model.h"
#include "pipeline/cast_job.h"
#include "support/cli_runner.h"
#include "support/corpus.h"

using namespace onnxquant;
namespace fs = std::filesystem;

namespace {

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / fmt::format("onnxq-cast-{}", ::testing::UnitTest::GetInstance()->random_seed() ^ getpid())) {
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::vector<NamedTensors> eval_rows(const fs::path& npy, const std::string& input, int64_t count) {
  NpyReader reader(npy);
  std::vector<NamedTensors> samples;
  for (int64_t i = 0; i < std::min(count, reader.rows()); ++i) samples.push_back({{input, reader.read_rows(i, 1)}});
  return samples;
}

CastRequest request(const fs::path& model, const fs::path& out, std::vector<NamedTensors> samples) {
  CastRequest req;
  req.input = model;
  req.output = out;
  req.samples = std::move(samples);
  req.latency = {.warmup = 1, .runs = 3};  // enough to print a number; bench/ is for careful timing
  return req;
}

void print(const std::string& label, const CastResult& r) {
  std::cout << fmt::format("[cast] {:<28} {:<9} {:<12} samples {:>2}  cosine {:.6f}  SQNR {:5.1f} dB  max err {:.4g}  size {:.1f} -> {:.1f} MiB "
                           "({:.3f}x)",
                           label, half_type_name(r.precision), r.compute == HalfCompute::Full ? "half" : "weights-only", r.samples,
                           r.accuracy.cosine, r.accuracy.sqnr_db, r.accuracy.max_abs_error, r.input_bytes / 1048576.0,
                           r.output_bytes / 1048576.0, r.size_ratio);
  if (r.float_latency && r.half_latency)
    std::cout << fmt::format("  latency fp32 {:.2f} ms, half {:.2f} ms ({:.2f}x)", r.float_latency->median_ms, r.half_latency->median_ms,
                             r.speedup);
  std::cout << "\n";
}

// The written file, read back: the ONNX checker accepts it and ORT loads it.
void check_written(const CastResult& r) {
  ASSERT_TRUE(r.written);
  const Model m = Model::load(r.output);
  EXPECT_NO_THROW(onnx::checker::check_model(m.proto()));
  EXPECT_NO_THROW(Executor{m});
}

struct ClassifierCase {
  const char* model;
  int64_t rows;  // eval photos used; all 79 for at least one model, fewer for the slow ones
};

class CastClassifier : public ::testing::TestWithParam<ClassifierCase> {};

}  // namespace

TEST_P(CastClassifier, Float16AgreesWithFloat32OnEvalPhotos) {
  ONNXQ_REQUIRE_CORPUS();
  const auto& c = GetParam();
  TempDir tmp;
  const fs::path dir = test::corpus_dir();
  const auto samples = eval_rows(dir / "data/imagenet224/eval.npy", "input", c.rows);
  const CastResult r = cast_model(request(dir / "torch" / (std::string(c.model) + ".onnx"), tmp.path() / "out.onnx", samples));
  print(c.model, r);
  EXPECT_EQ(r.compute, HalfCompute::Full);
  EXPECT_EQ(r.samples, c.rows);
  EXPECT_GE(r.accuracy.cosine, 0.999);
  EXPECT_EQ(r.accuracy.nonfinite, 0);
  EXPECT_LT(r.size_ratio, 0.52);
  EXPECT_EQ(r.rewrite.float_nodes, 0);
  EXPECT_EQ(r.rewrite.casts_inserted, 2);  // one at the input, one at the output: nothing else stays float32
  EXPECT_EQ(r.rewrite.constants_duplicated, 0);
  ASSERT_TRUE(r.float_latency && r.half_latency);
  EXPECT_EQ(r.half_slower, r.speedup < 0.97);
  check_written(r);
}

INSTANTIATE_TEST_SUITE_P(Corpus, CastClassifier,
                         ::testing::Values(ClassifierCase{"mobilenet_v2", 79}, ClassifierCase{"squeezenet1_1", 79},
                                           ClassifierCase{"efficientnet_b0", 79}, ClassifierCase{"resnet50", 16}),
                         [](const auto& info) { return std::string(info.param.model); });

TEST(CastCorpus, PaddleOcrDetectorFloat16) {
  // Opset 11, weights in Constant nodes, dynamic N/H/W; one BatchNorm variance (9.8e7) does not fit
  // float16, so that BatchNormalization stays float32 with Casts around it.
  ONNXQ_REQUIRE_CORPUS();
  TempDir tmp;
  const fs::path dir = test::corpus_dir();
  const auto samples = eval_rows(dir / "data/ocr/det_eval.npy", "x", 2);
  const CastResult r = cast_model(request(dir / "npm/ocr/ch_PP-OCRv4_det_infer.onnx", tmp.path() / "det.onnx", samples));
  print("PP-OCRv4 det", r);
  EXPECT_EQ(r.compute, HalfCompute::Full);
  EXPECT_GE(r.accuracy.cosine, 0.9999);
  EXPECT_EQ(r.accuracy.nonfinite, 0);
  EXPECT_LT(r.size_ratio, 0.52);
  EXPECT_EQ(r.rewrite.clamped_values, 0);
  ASSERT_EQ(r.rewrite.kept_float.size(), 1u);
  EXPECT_EQ(r.rewrite.kept_float[0].op_type, "BatchNormalization");
  EXPECT_GT(r.rewrite.constants_converted, 300);  // Constant-node weights converted in place
  check_written(r);
  // Dynamic dims survive: a real photo of another size runs too.
  const auto real = read_npy(dir / "data/ocr/real/det_scenetext01.npy");
  Executor ex(Model::load(r.output));
  EXPECT_EQ(ex.run({{"x", real}}).at("sigmoid_0.tmp_0").shape[2], real.shape[2]);
}

TEST(CastCorpus, Bfloat16FallsBackToHalfWeightsBecauseOrtRefusesBf16Compute) {
  ONNXQ_REQUIRE_CORPUS();
  TempDir tmp;
  const fs::path dir = test::corpus_dir();
  auto req = request(dir / "torch/squeezenet1_1.onnx", tmp.path() / "sq_bf16.onnx", eval_rows(dir / "data/imagenet224/eval.npy", "input", 16));
  req.precision = HalfType::BFloat16;
  const CastResult r = cast_model(req);
  print("squeezenet1_1", r);
  EXPECT_EQ(r.compute, HalfCompute::WeightsOnly);
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes[0].find("refused bfloat16 compute"), std::string::npos) << r.notes[0];
  EXPECT_GE(r.accuracy.cosine, 0.995);
  EXPECT_LT(r.size_ratio, 0.52);
  EXPECT_FALSE(r.half_slower);
  check_written(r);
  // Asking for bf16 compute explicitly fails with ORT's reason, and writes nothing.
  req.compute = CastCompute::Half;
  req.output = tmp.path() / "never.onnx";
  EXPECT_THROW(cast_model(req), RuntimeError);
  EXPECT_FALSE(fs::exists(req.output));
}

TEST(CastCorpus, CliJsonAndMinCosine) {
  ONNXQ_REQUIRE_CORPUS();
  TempDir tmp;
  const fs::path model = test::corpus_dir() / "torch/squeezenet1_1.onnx";
  const fs::path out = tmp.path() / "sq16.onnx";
  auto r = test::run_cli(fmt::format("--format json cast {} -o {} --runs 2 --warmup 1", model.string(), out.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["command"], "cast");
  EXPECT_EQ(j["precision"], "float16");
  EXPECT_EQ(j["compute"], "half");
  EXPECT_EQ(j["written"], true);
  EXPECT_EQ(j["accuracy"]["samples"], 1);  // one synthetic sample when no --input is given
  EXPECT_GE(j["accuracy"]["cosine"].get<double>(), 0.999);
  EXPECT_EQ(j["latency"]["runs"], 2);
  EXPECT_EQ(j["size"]["output_bytes"].get<uint64_t>(), fs::file_size(out));
  // A threshold the model misses: exit code 9 (verification), nothing written, existing file untouched.
  const auto before = fs::file_size(out);
  r = test::run_cli(fmt::format("cast {} -o {} --runs 0 --min-cosine 1", model.string(), out.string()));
  EXPECT_EQ(r.exit_code, 9) << r.out << r.err;
  EXPECT_NE(r.err.find("below the required"), std::string::npos) << r.err;
  EXPECT_EQ(fs::file_size(out), before);
  // Text output names the sizes, the agreement and the timing.
  r = test::run_cli(fmt::format("cast {} -o {} --runs 2 --warmup 1", model.string(), (tmp.path() / "t.onnx").string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("size"), std::string::npos);
  EXPECT_NE(r.out.find("cosine"), std::string::npos);
  EXPECT_NE(r.out.find("latency"), std::string::npos);
}
