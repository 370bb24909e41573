// `onnxquant run` as a user runs it: real data, synthetic data, JSON, and each kind of bad input giving
// its documented exit code with one line naming the file or input.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "io/npy.h"
#include "support/cli_runner.h"
#include "support/corpus.h"
#include "support/graph_builder.h"
#include "support/temp_dir.h"

using namespace onnxquant;
using onnxquant::test::run_cli;

namespace {
std::string corpus(const std::string& rel) { return (test::corpus_dir() / rel).string(); }

int stderr_lines(const std::string& err) {
  int n = 0;
  for (char c : err) n += c == '\n';
  return n;
}
}  // namespace

TEST(RunCli, RealDataAndJson) {
  ONNXQ_REQUIRE_CORPUS();
  auto r = run_cli("run " + corpus("torch/squeezenet1_1.onnx") + " -i " + corpus("data/imagenet224/eval.npy") + " -n 3 --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("command"), "run");
  EXPECT_EQ(j.at("samples"), 3);
  EXPECT_EQ(j.at("outputs").at(0).at("shape"), (std::vector<int64_t>{1, 1000}));
  EXPECT_EQ(j.at("outputs").at(0).at("nonfinite"), 0);
}

TEST(RunCli, DynamicDetectionModelWithInputShape) {
  ONNXQ_REQUIRE_CORPUS();
  test::TempDir dir;
  auto r = run_cli("run " + corpus("npm/ocr/ch_PP-OCRv4_det_infer.onnx") + " --input-shape x=1,3,320,320 --save-outputs " + dir.path().string() +
                   " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("outputs").at(0).at("shape"), (std::vector<int64_t>{1, 1, 320, 320}));
  const Tensor saved = read_npy(j.at("saved_files").at(0).get<std::string>());
  EXPECT_EQ(saved.shape, (Shape{1, 1, 320, 320}));
}

TEST(RunCli, BadInputsGiveOneLineAndExitCode) {
  test::TempDir dir;
  test::GraphBuilder b;
  b.input("x", DType::Float32, {1, 3}).output("y", DType::Float32, {1, 3});
  b.node("Relu", {"x"}, {"y"});
  const auto model = (dir / "m.onnx").string();
  b.build().save(model);
  write_npy(dir / "wrong_shape.npy", test::random_float_tensor({1, 4}, 1));
  std::ofstream(dir / "garbage.npy") << "definitely not numpy";
  struct Case { std::string args; int code; std::string must_mention; };
  const std::vector<Case> cases{
      {"run " + (dir / "missing.onnx").string(), 3, "missing.onnx"},
      {"run " + model + " -i " + (dir / "wrong_shape.npy").string(), 5, "wrong_shape.npy"},
      {"run " + model + " -i " + (dir / "garbage.npy").string(), 5, "garbage.npy"},
      {"run " + model + " -i " + (dir / "nothing.npy").string(), 5, "nothing.npy"},
      {"run " + model + " -i z=" + (dir / "wrong_shape.npy").string(), 5, "'z'"},
      {"run " + model + " --input-shape x=1,a", 2, "--input-shape"},
      {"run " + model + " --dim batch=0", 2, "--dim"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    auto r = run_cli(c.args);
    EXPECT_EQ(r.exit_code, c.code) << r.err;
    EXPECT_NE(r.err.find(c.must_mention), std::string::npos) << r.err;
    EXPECT_LE(stderr_lines(r.err), 2) << r.err;  // the error line and at most one hint
  }
}

TEST(RunCli, ModelThatOrtRejectsIsExitCode6) {
  test::TempDir dir;
  test::GraphBuilder b;
  b.input("x", DType::Float32, {3}).output("y", DType::Float32, {3});
  b.node("NotARealOp", {"x"}, {"y"}, "weird_node");
  const auto model = (dir / "bad.onnx").string();
  b.build().save(model);
  auto r = run_cli("run " + model);
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_NE(r.err.find("NotARealOp"), std::string::npos) << r.err;
}
