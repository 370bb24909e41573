#include <gtest/gtest.h>

#include "core/errors.h"
#include "exec/executor.h"
#include "exec/latency.h"
#include "exec/optimized_graph.h"
#include "rewrite/expose_tensors.h"
#include "support/graph_builder.h"

using namespace onnxquant;
using onnxquant::test::GraphBuilder;

TEST(Executor, ReportsRuntimeVersion) {
  const std::string v = runtime_version();
  std::cout << "ONNX Runtime version: " << v << "\n";
  EXPECT_EQ(v.rfind("1.30", 0), 0u) << v;
}

static Model add_model() {
  GraphBuilder b;
  b.input("x", DType::Float32, {-1, 3}, {"batch"}).initializer("c", {1, 2, 3}, {3}).output("y", DType::Float32, {-1, 3}, {"batch"});
  b.node("Add", {"x", "c"}, {"h"});
  b.node("Relu", {"h"}, {"y"});
  return b.build();
}

TEST(Executor, RunsAndExposesShapes) {
  Executor ex(add_model());
  ASSERT_EQ(ex.inputs().size(), 1u);
  EXPECT_EQ(ex.inputs()[0].shape, (std::vector<int64_t>{-1, 3}));
  EXPECT_EQ(ex.inputs()[0].dim_names[0], "batch");
  auto out = ex.run({{"x", test::make_float_tensor({2, 3}, {-5, 0, 1, 2, -3, 4})}});
  const auto y = out.at("y").as<float>();
  EXPECT_EQ(std::vector<float>(y.begin(), y.end()), (std::vector<float>{0, 2, 4, 3, 0, 7}));
}

TEST(Executor, RejectsWrongInputs) {
  Executor ex(add_model());
  EXPECT_THROW(ex.run({{"x", test::make_float_tensor({2, 4}, std::vector<float>(8))}}), DataError);
  EXPECT_THROW(ex.run({}), DataError);
  EXPECT_THROW(ex.run({{"nope", test::make_float_tensor({1, 3}, {1, 2, 3})}}), DataError);
  Tensor ints(DType::Int64, {1, 3});
  EXPECT_THROW(ex.run({{"x", ints}}), DataError);
}

TEST(Executor, RefusedModelIsRuntimeError) {
  GraphBuilder b;
  b.input("x", DType::Float32, {3}).output("y", DType::Float32, {3});
  b.node("NoSuchOp", {"x"}, {"y"});
  EXPECT_THROW(Executor{b.build()}, RuntimeError);
}

TEST(Executor, MeasuresLatency) {
  Executor ex(add_model());
  auto stats = measure_latency(ex, {{"x", test::make_float_tensor({1, 3}, {1, 2, 3})}}, {1, 5});
  ASSERT_EQ(stats.samples_ms.size(), 5u);
  EXPECT_LE(stats.min_ms, stats.median_ms);
  EXPECT_LE(stats.median_ms, stats.p90_ms);
}

TEST(Executor, SummarizesLatencyExactly) {
  auto s = summarize_latency({5, 1, 3, 2, 4});
  EXPECT_DOUBLE_EQ(s.median_ms, 3);
  EXPECT_DOUBLE_EQ(s.min_ms, 1);
  EXPECT_DOUBLE_EQ(s.mean_ms, 3);
  EXPECT_DOUBLE_EQ(s.p90_ms, 4.6);
}

TEST(Executor, DumpsOptimizedGraphWithFusion) {
  // Conv followed by Relu: ORT fuses the Relu into the convolution (on x86 as an NCHWc Conv with an
  // `activation` attribute, plus a ReorderOutput back to NCHW); no Relu node is left.
  GraphBuilder b;
  b.input("x", DType::Float32, {1, 2, 4, 4}).output("y", DType::Float32, {1, 2, 4, 4});
  b.initializer("w", test::random_float_tensor({2, 2, 1, 1}, 1));
  b.node("Conv", {"x", "w"}, {"c"});
  b.node("Relu", {"c"}, {"y"});
  Model opt = optimized_graph(b.build());
  int relus = 0, convs_with_relu = 0;
  for (const auto& n : opt.proto().graph().node()) {
    relus += n.op_type() == "Relu";
    for (const auto& a : n.attribute())
      if (a.name() == "activation" && a.s() == "Relu") convs_with_relu += n.op_type().find("Conv") != std::string::npos;
  }
  EXPECT_EQ(relus, 0);
  EXPECT_EQ(convs_with_relu, 1);
}

TEST(Executor, ExposesIntermediateTensors) {
  Model m = add_model();
  EXPECT_EQ(intermediate_tensor_names(m), std::vector<std::string>{"h"});
  const auto report = ExposeTensors({"h", "y", "nothing"}).run(m);
  EXPECT_EQ(report.changes, 1);
  ASSERT_EQ(report.notes.size(), 1u);
  Executor ex(m);
  auto out = ex.run({{"x", test::make_float_tensor({1, 3}, {-5, 0, 1})}}, {"h", "y"});
  const auto h = out.at("h").as<float>();
  EXPECT_EQ(std::vector<float>(h.begin(), h.end()), (std::vector<float>{-4, 2, 4}));
}
