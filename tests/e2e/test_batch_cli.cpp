// `onnxquant batch` as a user runs it: small models built in code (no corpus needed), one of them broken.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "io/npy.h"
#include "support/cli_runner.h"
#include "support/graph_builder.h"
#include "support/temp_dir.h"

using namespace onnxquant;

namespace {

// x[1,8] -> MatMul(w[8,4]) -> Relu -> y: quantizable with static INT8.
void write_model(const std::filesystem::path& path, uint32_t seed) {
  test::GraphBuilder b;
  b.input("x", DType::Float32, {1, 8}).output("y", DType::Float32, {1, 4});
  b.initializer("w", test::random_float_tensor({8, 4}, seed));
  b.node("MatMul", {"x", "w"}, {"h"});
  b.node("Relu", {"h"}, {"y"});
  b.build().save(path);
}

}  // namespace

TEST(Batch, CliQuantizesEachModelAndReportsFailures) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "models");
  write_model(dir / "models" / "a.onnx", 1);
  write_model(dir / "models" / "b.onnx", 2);
  std::ofstream(dir / "models" / "broken.onnx") << "not a model";
  write_npy(dir / "x.npy", test::random_float_tensor({6, 1, 8}, 3));
  const std::string forwarded = " -- --static-int8 -i " + (dir / "x.npy").string();
  auto r = test::run_cli("batch " + (dir / "models").string() + " -o " + (dir / "out").string() + " --jobs 2 --format json" + forwarded);
  EXPECT_EQ(r.exit_code, 1) << r.err;  // one model failed
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["succeeded"], 2);
  EXPECT_EQ(j["failed"], 1);
  ASSERT_EQ(j["models"].size(), 3u);
  EXPECT_EQ(j["models"][0]["status"], "ok");
  EXPECT_GT(j["models"][0]["result"]["verification"]["cosine"].get<double>(), 0.99);
  EXPECT_EQ(j["models"][2]["status"], "failed");
  EXPECT_EQ(j["models"][2]["exit_code"], 3);  // load error
  EXPECT_NE(j["models"][2]["error"].get<std::string>().find("broken.onnx"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir / "out" / "a.onnx"));
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "broken.onnx"));
  // A rerun with --skip-existing leaves the done ones alone; sharded, it sees only its share.
  std::filesystem::remove(dir / "models" / "broken.onnx");
  r = test::run_cli("batch " + (dir / "models").string() + " -o " + (dir / "out").string() + " --skip-existing --format json" + forwarded);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["skipped"], 2);
  r = test::run_cli("batch " + (dir / "models").string() + " -o " + (dir / "out2").string() + " --shard 2/2 --format json" + forwarded);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto shard = nlohmann::json::parse(r.out);
  ASSERT_EQ(shard["models"].size(), 1u);
  EXPECT_NE(shard["models"][0]["model"].get<std::string>().find("b.onnx"), std::string::npos);
  // Options after -- reach quantize: a bad one fails each model with quantize's own usage error.
  r = test::run_cli("batch " + (dir / "models").string() + " -o " + (dir / "out3").string() + " --format json -- --static-int8 --no-such-option");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(r.out)["models"][0]["exit_code"], 2);
}
