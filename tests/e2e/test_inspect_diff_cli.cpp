// `onnxquant inspect` and `onnxquant diff` as a user runs them: on the real-model corpus (numbers from its
// MANIFEST.md), in text and JSON, and on files that are not models.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "support/cli_runner.h"
#include "support/corpus.h"

using namespace onnxquant::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string model(const std::string& rel) { return (corpus_dir() / rel).string(); }

json parse_json(const CliResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  try {
    return json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON: " << e.what() << "\n" << r.out.substr(0, 500);
    return json::object();
  }
}

bool has_line_with(const std::string& text, std::initializer_list<std::string> parts) {
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = std::min(text.find('\n', start), text.size());
    const std::string line = text.substr(start, end - start);
    bool all = true;
    for (const auto& p : parts) all = all && line.find(p) != std::string::npos;
    if (all) return true;
    start = end + 1;
  }
  return false;
}

// Files that are not ONNX models, created fresh for each test run.
class InspectDiffBadFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("onnxq-insp-e2e-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "empty.onnx").close();
    std::ofstream text(dir_ / "notes.onnx");
    text << "this is a text file, not a model\nsecond line\n";
    text.close();
    std::mt19937 rng(42);
    std::ofstream random(dir_ / "random.onnx", std::ios::binary);
    for (int i = 0; i < 4096; ++i) random.put(static_cast<char>(rng() & 0xff));
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const char* name) const { return (dir_ / name).string(); }

  // Exit code 3 (LoadError), nothing on stdout, one line on stderr that names the file.
  static void expect_load_error(const CliResult& r, const std::string& file) {
    EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_NE(r.err.find(file), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }

  fs::path dir_;
};

}  // namespace

TEST(InspectCli, Resnet50Text) {
  ONNXQ_REQUIRE_CORPUS();
  const CliResult r = run_cli("inspect " + model("torch/resnet50.onnx"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has_line_with(r.out, {"Operators", "122 nodes"})) << r.out;
  EXPECT_TRUE(has_line_with(r.out, {"opsets", "ai.onnx 13"})) << r.out;
  EXPECT_TRUE(has_line_with(r.out, {"input", "float32", "[1,3,224,224]"})) << r.out;
  EXPECT_TRUE(has_line_with(r.out, {"Conv", "53"})) << r.out;
  EXPECT_TRUE(has_line_with(r.out, {"Parameters", "25,530,472", "97.4 MiB"})) << r.out;
  EXPECT_TRUE(has_line_with(r.out, {"fc.weight", "[1000,2048]", "7.8 MiB"})) << r.out;
  EXPECT_EQ(r.out.find("\x1b["), std::string::npos) << "no colours when stdout is not a terminal";
}

TEST(InspectCli, Resnet50Json) {
  ONNXQ_REQUIRE_CORPUS();
  // The global --format may come after the subcommand too.
  const json j = parse_json(run_cli("inspect " + model("torch/resnet50.onnx") + " --format json"));
  EXPECT_EQ(j["command"], "inspect");
  EXPECT_EQ(j["nodes"]["main_graph"], 122);
  EXPECT_EQ(j["opsets"]["ai.onnx"], 13);
  ASSERT_EQ(j["inputs"].size(), 1u);
  EXPECT_EQ(j["inputs"][0]["name"], "input");
  EXPECT_EQ(j["inputs"][0]["shape"], json::parse("[1,3,224,224]"));
  EXPECT_EQ(j["outputs"][0]["name"], "logits");
  EXPECT_EQ(j["ops"]["Conv"], 53);
  EXPECT_EQ(j["parameters"]["total"]["elements"], 25530472);
  EXPECT_EQ(j["parameters"]["by_dtype"]["float32"]["bytes"], 25530472 * 4);
  EXPECT_EQ(j["parameters"]["constant_nodes"]["tensors"], 0);
  EXPECT_EQ(j["size"]["file_bytes"], fs::file_size(model("torch/resnet50.onnx")));
  EXPECT_EQ(j["largest_tensors"].size(), 10u);
}

TEST(InspectCli, PaddleOcrSymbolicDimsAndConstantWeights) {
  ONNXQ_REQUIRE_CORPUS();
  const std::string det = model("npm/ocr/ch_PP-OCRv4_det_infer.onnx");
  const CliResult r = run_cli("inspect " + det);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has_line_with(r.out, {"x", "[p2o.DynamicDimension.0,3,p2o.DynamicDimension.1,p2o.DynamicDimension.2]"})) << r.out;
  EXPECT_TRUE(has_line_with(r.out, {"Parameters", "1,171,841", "Constant nodes"})) << r.out;
  EXPECT_TRUE(has_line_with(r.out, {"opsets", "ai.onnx 11"})) << r.out;

  const json j = parse_json(run_cli("--format json inspect " + det));
  EXPECT_EQ(j["inputs"][0]["shape"], json::parse(R"(["p2o.DynamicDimension.0",3,"p2o.DynamicDimension.1","p2o.DynamicDimension.2"])"));
  EXPECT_EQ(j["nodes"]["main_graph"], 672);
  EXPECT_EQ(j["ops"]["Constant"], 342);
  EXPECT_EQ(j["parameters"]["initializers"]["tensors"], 0);
  EXPECT_EQ(j["parameters"]["constant_nodes"]["tensors"], 342);
  EXPECT_EQ(j["parameters"]["by_dtype"]["float32"]["elements"], 1171841);
  EXPECT_EQ(j["largest_tensors"][0]["source"], "constant");
}

TEST(InspectCli, NodeCountsOfEveryCorpusModel) {
  ONNXQ_REQUIRE_CORPUS();
  const std::map<std::string, int> nodes{{"npm/ocr/ch_ppocr_mobile_v2.0_cls_infer.onnx", 471}, {"torch/mobilenet_v2.onnx", 170},
                                         {"torch/squeezenet1_1.onnx", 83},  {"torch/efficientnet_b0.onnx", 257},
                                         {"torch/transformer_encoder_d256_l4.onnx", 319}, {"torch/mlp_512_1024_1024_10.onnx", 5}};
  for (const auto& [file, count] : nodes) {
    SCOPED_TRACE(file);
    const json j = parse_json(run_cli("--format json inspect " + model(file)));
    EXPECT_EQ(j["nodes"]["main_graph"], count);
  }
}

TEST(InspectCli, QuietIsOneLine) {
  ONNXQ_REQUIRE_CORPUS();
  const CliResult r = run_cli("-q inspect " + model("torch/resnet50.onnx"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_NE(r.out.find("122 nodes"), std::string::npos) << r.out;
}

TEST(InspectCli, HelpHasAnExample) {
  for (const char* cmd : {"inspect --help", "diff --help"}) {
    const CliResult r = run_cli(cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("Example"), std::string::npos) << r.out;
  }
}

TEST(DiffCli, ModelWithItselfIsIdentical) {
  ONNXQ_REQUIRE_CORPUS();
  const std::string m = model("torch/mobilenet_v2.onnx");
  const CliResult r = run_cli("diff --exit-code " + m + " " + m);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("identical"), std::string::npos) << r.out;
  const json j = parse_json(run_cli("--format json diff " + m + " " + m));
  EXPECT_EQ(j["identical"], true);
  const json summary = parse_json(run_cli("--format json inspect " + m));
  EXPECT_EQ(j["tensors"]["unchanged"], summary["parameters"]["total"]["tensors"]);
  EXPECT_TRUE(j["tensors"]["changed"].empty());
  EXPECT_EQ(j["size"]["file_bytes"]["ratio"], 1.0);
}

TEST(DiffCli, DynamicBatchChangesInputAndOutputShapes) {
  ONNXQ_REQUIRE_CORPUS();
  const std::string a = model("torch/resnet50.onnx"), b = model("torch/resnet50_dynbatch.onnx");
  const CliResult r = run_cli("diff " + a + " " + b);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has_line_with(r.out, {"changed", "input", "[1,3,224,224]", "[batch,3,224,224]"})) << r.out;
  EXPECT_TRUE(has_line_with(r.out, {"changed", "logits", "[1,1000]", "[batch,1000]"})) << r.out;

  const json j = parse_json(run_cli("--format json diff " + a + " " + b));
  EXPECT_EQ(j["identical"], false);
  ASSERT_EQ(j["inputs"]["changed"].size(), 1u);
  EXPECT_EQ(j["inputs"]["changed"][0]["name"], "input");
  EXPECT_EQ(j["inputs"]["changed"][0]["a"]["shape"], json::parse("[1,3,224,224]"));
  EXPECT_EQ(j["inputs"]["changed"][0]["b"]["shape"], json::parse(R"(["batch",3,224,224])"));
  ASSERT_EQ(j["outputs"]["changed"].size(), 1u);
  EXPECT_EQ(j["outputs"]["changed"][0]["b"]["shape"], json::parse(R"(["batch",1000])"));
  EXPECT_TRUE(j["op_counts"].empty());
  EXPECT_TRUE(j["tensors"]["changed"].empty());
  EXPECT_EQ(j["tensors"]["unchanged"], 108);
  EXPECT_EQ(j["size"]["parameter_bytes"]["ratio"], 1.0);

  EXPECT_EQ(run_cli("-q diff --exit-code " + a + " " + b).exit_code, 1);
}

TEST(DiffCli, DifferentNetworksReportOpsAndSizes) {
  ONNXQ_REQUIRE_CORPUS();
  const json j = parse_json(run_cli("--format json diff " + model("torch/resnet50.onnx") + " " + model("torch/mobilenet_v2.onnx")));
  EXPECT_EQ(j["identical"], false);
  EXPECT_EQ(j["nodes"]["main_graph"]["a"], 122);
  EXPECT_EQ(j["nodes"]["main_graph"]["b"], 170);
  bool relu_found = false;
  for (const auto& c : j["op_counts"])
    if (c["op_type"] == "Relu") {
      relu_found = true;
      EXPECT_EQ(c["a"], 49);
      EXPECT_EQ(c["b"], 0);
      EXPECT_EQ(c["delta"], -49);
    }
  EXPECT_TRUE(relu_found) << j["op_counts"].dump();
  EXPECT_LT(j["size"]["parameter_bytes"]["ratio"].get<double>(), 0.2);
}

TEST_F(InspectDiffBadFiles, InspectRefusesNonModelsWithLoadError) {
  expect_load_error(run_cli("inspect " + path("missing.onnx")), "missing.onnx");
  expect_load_error(run_cli("inspect " + path("empty.onnx")), "empty.onnx");
  expect_load_error(run_cli("inspect " + path("random.onnx")), "random.onnx");
  expect_load_error(run_cli("inspect " + path("notes.onnx")), "notes.onnx");
  expect_load_error(run_cli("--format json inspect " + path("notes.onnx")), "notes.onnx");
}

TEST_F(InspectDiffBadFiles, DiffNamesTheFileThatFailed) {
  expect_load_error(run_cli("diff " + path("empty.onnx") + " " + path("random.onnx")), "empty.onnx");
  expect_load_error(run_cli("diff " + path("notes.onnx") + " " + path("notes.onnx")), "notes.onnx");
  if (corpus_available()) expect_load_error(run_cli("diff " + model("torch/mlp_512_1024_1024_10.onnx") + " " + path("random.onnx")), "random.onnx");
}

TEST(InspectCli, MissingArgumentIsUsageError) {
  EXPECT_EQ(run_cli("inspect").exit_code, 2);
  EXPECT_EQ(run_cli("diff only-one.onnx").exit_code, 2);
}
