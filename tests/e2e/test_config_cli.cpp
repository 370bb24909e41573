// `--config FILE` as a user runs it: YAML and TOML set any command's options, the command line wins,
// and mistakes name the file, the line and the key. Small models built in code (no corpus needed).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "io/npy.h"
#include "support/cli_runner.h"
#include "support/graph_builder.h"
#include "support/temp_dir.h"

using namespace onnxquant;
using onnxquant::test::run_cli;

namespace {

// x[1,8] -> MatMul(w) -> Relu -> MatMul(w2) -> y
void write_model(const std::filesystem::path& path) {
  test::GraphBuilder b;
  b.input("x", DType::Float32, {1, 8}).output("y", DType::Float32, {1, 4});
  b.initializer("w", test::random_float_tensor({8, 8}, 1));
  b.initializer("w2", test::random_float_tensor({8, 4}, 2));
  b.node("MatMul", {"x", "w"}, {"h"}, "first");
  b.node("Relu", {"h"}, {"r"});
  b.node("MatMul", {"r", "w2"}, {"y"}, "second");
  b.build().save(path);
}

void write(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }

class ConfigCli : public ::testing::Test {
 protected:
  void SetUp() override {
    write_model(dir / "m.onnx");
    write_npy(dir / "x.npy", test::random_float_tensor({5, 1, 8}, 3));
  }
  std::string path(const std::string& name) const { return (dir / name).string(); }
  test::TempDir dir;
};

}  // namespace

TEST_F(ConfigCli, YamlAndTomlSetOptionsAndTheCommandLineWins) {
  write(dir / "c.yaml", "format: json\ncalibrate:\n  input: " + path("x.npy") + "\n  samples: 3\n  method: percentile\n");
  auto r = run_cli("calibrate " + path("m.onnx") + " -o " + path("r.json") + " --config " + path("c.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["samples"], 3);
  EXPECT_EQ(j["method"], "percentile");
  r = run_cli("calibrate " + path("m.onnx") + " -o " + path("r.json") + " --config " + path("c.yaml") + " -n 2 -m mse");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["samples"], 2);
  EXPECT_EQ(j["method"], "mse");

  write(dir / "c.toml", "format = \"json\"\n[quantize]\nstatic-int8 = true\ninput = \"" + path("x.npy") + "\"\nexclude = [\"second\"]\n");
  r = run_cli("quantize " + path("m.onnx") + " -o " + path("q.onnx") + " --config " + path("c.toml"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ranges"]["samples"], 5);
  bool second_excluded = false;
  for (const auto& n : j["plan"]["nodes"])
    if (n["node"] == "second") second_excluded = n["reason"].get<std::string>().find("--exclude") != std::string::npos;
  EXPECT_TRUE(second_excluded);
}

TEST_F(ConfigCli, MistakesNameFileLineAndKey) {
  struct Case {
    const char* file;
    const char* text;
    const char* expect;
  };
  const Case cases[] = {
      {"k.yaml", "calibrate:\n  samples: 3\n  methd: entropy\n", "line 3: unknown option 'methd' for 'calibrate'"},
      {"s.yaml", "calibrat:\n  samples: 3\n", "line 1: unknown section 'calibrat'"},
      {"m.yaml", "calibrate:\n  method:\n    name: entropy\n", "line 3: 'method' must be a value or a list of values, not a mapping"},
      {"y.yaml", "calibrate:\n  method: [entropy\n", "not valid YAML"},
      {"k.toml", "[calibrate]\nsamples = 3\n\nmethd = \"x\"\n", "line 4: unknown option 'methd' for 'calibrate'"},
      {"t.toml", "[calibrate\n", "not valid TOML"},
      {"c.ini", "[calibrate]\n", "use a .yaml, .yml or .toml file"},
  };
  for (const auto& c : cases) {
    write(dir / c.file, c.text);
    const auto r = run_cli("calibrate " + path("m.onnx") + " --config " + path(c.file) + " -o " + path("r.json"));
    EXPECT_EQ(r.exit_code, 2) << c.file << ": " << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.file << ": " << r.err;
    EXPECT_NE(r.err.find(c.file), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir / "r.json"));
  }
  // A value of the wrong type is placed in the file too.
  write(dir / "v.toml", "[calibrate]\nsamples = \"many\"\n");
  const auto r = run_cli("calibrate " + path("m.onnx") + " --config " + path("v.toml"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("v.toml line 2"), std::string::npos) << r.err;
}

TEST_F(ConfigCli, BatchGivesEachModelTheQuantizeSectionAndItsOwnOverrides) {
  std::filesystem::create_directories(dir / "models");
  write_model(dir / "models" / "a.onnx");
  write_model(dir / "models" / "b.onnx");
  write(dir / "b.yaml", "batch:\n  jobs: 2\n  models:\n    b.onnx: {exclude: [first, second]}\nquantize:\n  static-int8: true\n  input: " +
                            path("x.npy") + "\n");
  const auto r = run_cli("batch " + path("models") + " -o " + path("out") + " --config " + path("b.yaml") + " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["models"].size(), 2u);
  auto quantized = [](const nlohmann::json& result) {
    int n = 0;
    for (const auto& node : result["plan"]["nodes"]) n += node["quantized"].get<bool>() && node["op_type"] == "MatMul";
    return n;
  };
  // a.onnx: both MatMuls (the second writes the graph output: MatMulIntegerToFloat, its output float)
  EXPECT_EQ(quantized(j["models"][0]["result"]), 2);
  EXPECT_EQ(quantized(j["models"][1]["result"]), 0);  // b.onnx: both excluded by its override
}

// The shipped examples only use sections and keys that exist (inspect reads the whole file and ignores
// the other commands' values).
TEST_F(ConfigCli, ExamplesAreValid) {
  int checked = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(ONNXQ_SOURCE_DIR) / "examples")) {
    const auto r = run_cli("inspect " + path("m.onnx") + " --config " + e.path().string());
    EXPECT_EQ(r.exit_code, 0) << e.path() << ": " << r.err;
    ++checked;
  }
  EXPECT_GE(checked, 2);
}
