// `onnxquant validate` and `onnxquant benchmark` as a user runs them: a model against itself (identical),
// against a copy with one weight damaged (the damaged layer ranks first), the JSON schema of
// docs/json-output.md, --fail-below, and every kind of bad input giving one line and its exit code.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "io/npy.h"
#include "ir/graph.h"
#include "ir/model.h"
#include "ir/tensor_proto.h"
#include "support/cli_runner.h"
#include "support/corpus.h"
#include "support/graph_builder.h"
#include "support/temp_dir.h"

using namespace onnxquant;
using nlohmann::json;
using onnxquant::test::GraphBuilder;
using onnxquant::test::run_cli;

namespace {

std::string corpus(const std::string& rel) { return (test::corpus_dir() / rel).string(); }

json parse(const test::CliResult& r) {
  try {
    return json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON: " << e.what() << "\n" << r.out.substr(0, 400) << "\n" << r.err;
    return json::object();
  }
}

int stderr_lines(const std::string& err) {
  int n = 0;
  for (char c : err) n += c == '\n';
  return n;
}

// Scales the weight of the `index`-th Conv (in topological order) by `factor`; returns that Conv's output.
std::string damage_conv(Model& model, size_t index, float factor) {
  auto& g = *model.proto().mutable_graph();
  const Graph view(g);
  std::vector<int> convs;
  for (int i : view.topological_order())
    if (view.node(i).op_type() == "Conv") convs.push_back(i);
  const auto& conv = g.node(convs.at(index));
  const std::string weight = conv.input(1);  // a copy: tensor_to_proto clears the proto it names
  for (auto& init : *g.mutable_initializer())
    if (init.name() == weight) {
      Tensor w = tensor_from_proto(init);
      for (float& v : w.as<float>()) v *= factor;
      tensor_to_proto(w, weight, init);
    }
  return conv.output(0);
}

// x[1,2,6,6] -> Conv -> Relu -> Conv -> Relu -> Conv -> GlobalAveragePool -> Flatten -> y[1,4]
Model small_cnn(const std::string& input = "x", const std::string& output = "y") {
  GraphBuilder b;
  b.input(input, DType::Float32, {1, 2, 6, 6}).output(output, DType::Float32, {1, 4});
  b.initializer("w1", test::random_float_tensor({4, 2, 3, 3}, 1)).initializer("w2", test::random_float_tensor({4, 4, 3, 3}, 2));
  b.initializer("w3", test::random_float_tensor({4, 4, 1, 1}, 3)).initializer("b1", test::random_float_tensor({4}, 4, 0.f, .2f));
  GraphBuilder::attr_ints(b.node("Conv", {input, "w1", "b1"}, {"c1"}, "conv1"), "pads", {1, 1, 1, 1});
  b.node("Relu", {"c1"}, {"r1"}, "relu1");
  GraphBuilder::attr_ints(b.node("Conv", {"r1", "w2"}, {"c2"}, "conv2"), "pads", {1, 1, 1, 1});
  b.node("Relu", {"c2"}, {"r2"}, "relu2");
  b.node("Conv", {"r2", "w3"}, {"c3"}, "conv3");
  b.node("GlobalAveragePool", {"c3"}, {"g"}, "gap");
  b.node("Flatten", {"g"}, {output}, "flatten");
  return b.build();
}

}  // namespace

TEST(ValidateCli, ModelAgainstItselfIsIdenticalAndJsonHasTheDocumentedKeys) {
  ONNXQ_REQUIRE_CORPUS();
  const auto m = corpus("torch/squeezenet1_1.onnx");
  auto r = run_cli("validate " + m + " " + m + " -i " + corpus("data/imagenet224/eval.npy") + " -n 2 --timed 4 --warmup 1 --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = parse(r);
  for (const char* key : {"command", "schema_version", "reference", "candidate", "samples", "synthetic_inputs", "verdict", "passed", "fail_below",
                          "outputs", "latency", "size", "fusion", "per_layer", "notes", "onnxruntime", "report_html"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["command"], "validate");
  EXPECT_EQ(j["samples"], 2);
  EXPECT_EQ(j["verdict"]["level"], "excellent");
  const auto& o = j["outputs"].at(0);
  for (const char* key : {"name", "samples", "cosine_mean", "cosine_min", "cosine", "sqnr_db", "max_abs_error", "mean_abs_error", "nonfinite",
                          "elements", "classes", "mask"})
    EXPECT_TRUE(o.contains(key)) << key;
  for (const char* key : {"level", "cosine", "sqnr_db", "output", "limited_by", "message"}) EXPECT_TRUE(j["verdict"].contains(key)) << key;
  for (const char* key : {"integer_kernels", "integer_kernel_total", "total", "by_op", "quantized_ops", "qdq", "nodes_in_model", "nodes_at_runtime"})
    EXPECT_TRUE(j["fusion"].contains(key)) << key;
  EXPECT_EQ(o["name"], "logits");
  EXPECT_NEAR(o["cosine_mean"].get<double>(), 1.0, 1e-12);
  EXPECT_NEAR(o["cosine_min"].get<double>(), 1.0, 1e-12);
  EXPECT_EQ(o["max_abs_error"].get<double>(), 0.0);
  EXPECT_EQ(o["mean_abs_error"].get<double>(), 0.0);
  EXPECT_TRUE(o["sqnr_db"].is_null());  // identical: infinite SQNR
  EXPECT_EQ(o["classes"]["top1_agreement"].get<double>(), 1.0);
  EXPECT_EQ(o["classes"]["k"], 5);
  const auto& lat = j["latency"];
  EXPECT_EQ(lat["runs"], 4);
  EXPECT_EQ(lat["reference_ms"]["samples_ms"].size(), 4u);
  EXPECT_LE(lat["speedup_ci95"][0].get<double>(), lat["speedup_ci95"][1].get<double>());
  EXPECT_EQ(j["size"]["ratio"].get<double>(), 1.0);
  EXPECT_EQ(j["fusion"]["total"]["quantized"], 0);
  EXPECT_TRUE(j["per_layer"].is_null());
}

TEST(ValidateCli, DamagedMiddleConvOfSqueezenetRanksFirst) {
  ONNXQ_REQUIRE_CORPUS();
  test::TempDir dir;
  Model model = Model::load(corpus("torch/squeezenet1_1.onnx"));
  const Graph g(model.proto().graph());
  size_t convs = 0;
  for (int i = 0; i < g.node_count(); ++i) convs += g.node(i).op_type() == "Conv";
  const std::string damaged = damage_conv(model, convs / 2, 1.5f);
  model.save(dir / "damaged.onnx");
  auto r = run_cli("validate " + corpus("torch/squeezenet1_1.onnx") + " " + (dir / "damaged.onnx").string() + " -i " +
                   corpus("data/imagenet224/eval.npy") + " -n 2 --timed 0 --per-layer --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = parse(r);
  ASSERT_TRUE(j["per_layer"].is_array());
  ASSERT_FALSE(j["per_layer"].empty());
  EXPECT_EQ(j["per_layer"][0]["tensor"], damaged) << j["per_layer"][0].dump() << "\n" << j["per_layer"][1].dump();
  EXPECT_EQ(j["per_layer"][0]["op_type"], "Conv");
  for (const char* key : {"tensor", "node", "op_type", "position", "probe", "cosine", "sqnr_db", "max_abs_error", "mean_abs_error", "nonfinite",
                          "elements", "local_sqnr_db"})
    EXPECT_TRUE(j["per_layer"][0].contains(key)) << key;
  EXPECT_EQ(j["per_layer"][0]["probe"], "direct");
  EXPECT_EQ(j["verdict"]["limited_by"], "sqnr");  // outputs scaled, not turned: cosine stays ~1, SQNR catches it
  EXPECT_LT(j["per_layer"][0]["local_sqnr_db"].get<double>(), 20.0);
  EXPECT_TRUE(j["latency"].is_null());
  EXPECT_LT(j["outputs"][0]["cosine_mean"].get<double>(), 1.0);
}

TEST(ValidateCli, TextReportAndFailBelowExitCode) {
  test::TempDir dir;
  small_cnn().save(dir / "a.onnx");
  Model damaged = small_cnn();
  damage_conv(damaged, 1, -1.0f);  // a sign flip: cosine drops (a pure scale would keep cosine 1)
  damaged.save(dir / "b.onnx");
  const std::string models = (dir / "a.onnx").string() + " " + (dir / "b.onnx").string();
  auto ok = run_cli("validate " + models + " -n 3 --timed 3 --per-layer");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  for (const char* part : {"verdict:", "cosine mean", "SQNR dB", "speedup", "Fusion report", "Per-layer error", "c2", "synthetic"})
    EXPECT_NE(ok.out.find(part), std::string::npos) << part << "\n" << ok.out;
  auto fail = run_cli("validate " + models + " -n 3 --timed 0 --fail-below 0.99999");
  EXPECT_EQ(fail.exit_code, 1) << fail.out << fail.err;
  EXPECT_NE(fail.out.find("FAILED"), std::string::npos) << fail.out;
  auto fail_json = run_cli("validate " + models + " -n 3 --timed 0 --fail-below 0.99999 --format json");
  EXPECT_EQ(fail_json.exit_code, 1);
  EXPECT_EQ(parse(fail_json)["passed"], false);
  auto self = run_cli("validate " + (dir / "a.onnx").string() + " " + (dir / "a.onnx").string() + " --timed 0 --fail-below 0.999");
  EXPECT_EQ(self.exit_code, 0) << self.out << self.err;
}

// y = Sigmoid(x + shift): shifting by 1 grows the mask y > 0.5 from x > 0 to x > -1.
Model shifted_sigmoid(float shift) {
  GraphBuilder b;
  b.input("x", DType::Float32, {1, 6}).output("y", DType::Float32, {1, 6});
  b.initializer("shift", std::vector<float>{shift}, {1});
  b.node("Add", {"x", "shift"}, {"s"}, "add");
  b.node("Sigmoid", {"s"}, {"y"}, "sigmoid");
  return b.build();
}

TEST(ValidateCli, MaskThresholdReportsPooledAndWorstIou) {
  test::TempDir dir;
  shifted_sigmoid(0.0f).save(dir / "a.onnx");
  shifted_sigmoid(1.0f).save(dir / "b.onnx");
  // Sample 0: reference mask {0.5, 1.5, 3} (x > 0), candidate adds -0.5 (x > -1): IoU 3/4.
  // Sample 1: every x < -2, both masks empty: IoU 1, and it adds nothing to the pooled counts.
  Tensor x(DType::Float32, {2, 1, 6});
  const float values[] = {-3, -1.5f, -0.5f, 0.5f, 1.5f, 3, -9, -8, -7, -6, -5, -4};
  std::copy(std::begin(values), std::end(values), x.as<float>().begin());
  write_npy(dir / "x.npy", x);
  const std::string models = (dir / "a.onnx").string() + " " + (dir / "b.onnx").string();
  auto r = run_cli("validate " + models + " -i " + (dir / "x.npy").string() + " --timed 0 --mask-threshold 0.5 --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json mask = parse(r)["outputs"].at(0)["mask"];
  EXPECT_EQ(mask["threshold"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(mask["iou"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(mask["iou_min"].get<double>(), 0.75);
  auto text = run_cli("validate " + models + " -i " + (dir / "x.npy").string() + " --timed 0 --mask-threshold 0.5");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("mask IoU (> 0.5) 0.7500"), std::string::npos) << text.out;
  auto without = run_cli("validate " + models + " -i " + (dir / "x.npy").string() + " --timed 0 --format json");
  EXPECT_TRUE(parse(without)["outputs"].at(0)["mask"].is_null());
}

TEST(ValidateCli, BadInputsGiveOneLineAndExitCode) {
  test::TempDir dir;
  const auto path = [&](const char* name) { return (dir / name).string(); };
  small_cnn().save(path("a.onnx"));
  small_cnn("other_input").save(path("renamed_input.onnx"));
  small_cnn("x", "other_output").save(path("renamed_output.onnx"));
  {
    GraphBuilder b;
    b.input("x", DType::Float32, {1, 2, 8, 8}).output("y", DType::Float32, {1, 2, 8, 8});
    b.node("Relu", {"x"}, {"y"});
    b.build().save(path("other_shape.onnx"));
  }
  {
    GraphBuilder b;
    b.input("x", DType::Float32, {1, 2, 6, 6}).output("y", DType::Float32, {1, 4});
    b.node("NotARealOp", {"x"}, {"y"}, "weird_node");
    b.build().save(path("refused.onnx"));
  }
  write_npy(dir / "wrong.npy", test::random_float_tensor({1, 3, 6, 6}, 1));
  struct Case {
    std::string args;
    int code;
    std::string must_mention;
  };
  const std::string a = path("a.onnx");
  const std::vector<Case> cases{
      {"validate " + a + " " + path("missing.onnx"), 3, "missing.onnx"},
      {"validate " + a + " " + path("renamed_input.onnx"), 5, "'other_input'"},
      {"validate " + a + " " + path("renamed_output.onnx"), 5, "'other_output'"},
      {"validate " + a + " " + path("other_shape.onnx"), 5, "[1,2,8,8]"},
      {"validate " + a + " " + path("refused.onnx"), 6, "refused.onnx"},
      {"validate " + a + " " + a + " -i " + path("wrong.npy"), 5, "wrong.npy"},
      {"validate " + a + " " + a + " --report " + path("no/such/folder/r.html"), 7, "no/such/folder"},
      {"validate " + a + " " + a + " --fail-below 2", 2, "--fail-below"},
      {"validate " + a, 2, "candidate"},
      {"benchmark " + path("missing.onnx"), 3, "missing.onnx"},
      {"benchmark " + path("refused.onnx") + " --runs 2", 6, "refused.onnx"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    auto r = run_cli(c.args);
    EXPECT_EQ(r.exit_code, c.code) << r.out << r.err;
    EXPECT_NE(r.err.find(c.must_mention), std::string::npos) << r.err;
    EXPECT_LE(stderr_lines(r.err), 2) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

TEST(BenchmarkCli, TwoModelsSideBySide) {
  test::TempDir dir;
  small_cnn().save(dir / "a.onnx");
  small_cnn().save(dir / "b.onnx");
  const std::string models = (dir / "a.onnx").string() + " " + (dir / "b.onnx").string();
  auto r = run_cli("benchmark " + models + " --runs 5 --warmup 1 --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = parse(r);
  EXPECT_EQ(j["command"], "benchmark");
  EXPECT_EQ(j["isolation"], "fork");
  ASSERT_EQ(j["models"].size(), 2u);
  for (const auto& m : j["models"]) {
    for (const char* key : {"model", "file_bytes", "session_create_ms", "latency_ms", "samples_ms", "throughput_per_s", "peak_rss_bytes",
                            "peak_rss_delta_bytes", "memory_method", "speedup_vs_first"})
      EXPECT_TRUE(m.contains(key)) << key;
    EXPECT_EQ(m["samples_ms"].size(), 5u);
    EXPECT_GT(m["session_create_ms"].get<double>(), 0);
    EXPECT_GT(m["throughput_per_s"].get<double>(), 0);
    EXPECT_GT(m["peak_rss_bytes"].get<uint64_t>(), 0u);
    EXPECT_LE(m["latency_ms"]["min"].get<double>(), m["latency_ms"]["median"].get<double>());
  }
  auto text = run_cli("benchmark " + models + " --runs 3 --in-process");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("median ms"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("b.onnx"), std::string::npos) << text.out;
}
