// Real models from the corpus through the IR and the foundation passes: saving unchanged keeps the model
// byte for byte and ORT's outputs bit for bit; extract/dedup/dead-node passes keep outputs bit-identical;
// the opset upgrade of the PaddlePaddle exports (opset 9 and 11) agrees with the original on real data.
#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "analysis/compare.h"
#include "exec/executor.h"
#include "io/model_inputs.h"
#include "io/npy.h"
#include "ir/model.h"
#include "rewrite/deduplicate_initializers.h"
#include "rewrite/extract_constants.h"
#include "rewrite/remove_dead_nodes.h"
#include "rewrite/upgrade_opset.h"
#include "support/corpus.h"
#include "support/temp_dir.h"

using namespace onnxquant;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> corpus_models() {
  std::ifstream in(test::corpus_dir() / "models.json");
  const auto j = nlohmann::json::parse(in);
  std::vector<std::string> files;
  for (const auto& [file, _] : j.at("models").items()) files.push_back(file);
  return files;
}

NamedTensors synthetic_sample(const Executor& ex) {
  InputOptions o;
  o.seed = 42;
  return load_model_inputs(ex.inputs(), o).at(0);
}

void expect_bitwise_equal(const NamedTensors& a, const NamedTensors& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (const auto& [name, t] : a) {
    ASSERT_TRUE(b.count(name)) << what << ": " << name;
    EXPECT_EQ(t.shape, b.at(name).shape) << what << ": " << name;
    EXPECT_TRUE(t.bytes == b.at(name).bytes) << what << ": output " << name << " differs";
  }
}

}  // namespace

TEST(CorpusIr, RoundTripKeepsBytesAndOutputs) {
  ONNXQ_REQUIRE_CORPUS();
  test::TempDir dir;
  for (const auto& file : corpus_models()) {
    SCOPED_TRACE(file);
    const Model original = Model::load(test::corpus_dir() / file);
    original.save(dir / "copy.onnx");
    const Model copy = Model::load(dir / "copy.onnx");
    EXPECT_TRUE(copy.serialize() == original.serialize());
    // The original file itself is reproduced exactly (protobuf field order is canonical for these).
    std::ifstream a(test::corpus_dir() / file, std::ios::binary), b(dir / "copy.onnx", std::ios::binary);
    const std::string bytes_a((std::istreambuf_iterator<char>(a)), {}), bytes_b((std::istreambuf_iterator<char>(b)), {});
    EXPECT_TRUE(bytes_a == bytes_b) << "saved file differs from the original";
    Executor ex_a(original), ex_b(copy);
    const NamedTensors sample = synthetic_sample(ex_a);
    expect_bitwise_equal(ex_a.run(sample), ex_b.run(sample), file);
  }
}

TEST(CorpusIr, CleanupPassesKeepOutputsBitIdentical) {
  ONNXQ_REQUIRE_CORPUS();
  for (const auto& file : corpus_models()) {
    SCOPED_TRACE(file);
    const Model original = Model::load(test::corpus_dir() / file);
    Model cleaned = original.clone();
    const auto extracted = ExtractConstants().run(cleaned);
    DeduplicateInitializers().run(cleaned);
    RemoveDeadNodes().run(cleaned);
    if (file.find("PP-OCRv4_det") != std::string::npos) {
      EXPECT_EQ(extracted.changes, 342);  // every weight was a Constant
    }
    onnx::checker::check_model(cleaned.proto());
    Executor ex_a(original), ex_b(cleaned);
    const NamedTensors sample = synthetic_sample(ex_a);
    expect_bitwise_equal(ex_a.run(sample), ex_b.run(sample), file);
  }
}

TEST(CorpusIr, UpgradesPaddleExportsToOpset13) {
  ONNXQ_REQUIRE_CORPUS();
  struct Case { std::string model, data; int64_t rows; };
  for (const Case& c : {Case{"npm/ocr/ch_PP-OCRv4_det_infer.onnx", "data/ocr/det_eval.npy", 2},
                        Case{"npm/ocr/ch_ppocr_mobile_v2.0_cls_infer.onnx", "data/ocr/cls_eval.npy", 16}}) {
    SCOPED_TRACE(c.model);
    const Model original = Model::load(test::corpus_dir() / c.model);
    Model upgraded = original.clone();
    const auto report = UpgradeOpset(13).run(upgraded);
    for (const auto& note : report.notes) std::cout << "  " << c.model << ": " << note << "\n";
    EXPECT_EQ(upgraded.opset(), 13);
    onnx::checker::check_model(upgraded.proto());
    Executor ex_a(original), ex_b(upgraded);
    NpyReader data(test::corpus_dir() / c.data);
    CompareAccumulator acc;
    for (int64_t r = 0; r < c.rows; ++r) {
      const NamedTensors sample{{ex_a.inputs()[0].name, data.read_rows(r, 1)}};
      const auto a = ex_a.run(sample), b = ex_b.run(sample);
      for (const auto& [name, t] : a) acc.add(t, b.at(name), name);
    }
    const auto s = acc.stats();
    std::cout << "  " << c.model << " opset 13 vs original: cosine " << s.cosine << ", max abs error " << s.max_abs_error << "\n";
    EXPECT_GT(s.cosine, 0.999999);
    EXPECT_LT(s.max_abs_error, 1e-4);
  }
}
