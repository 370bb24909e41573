// Each foundation pass: build the before-graph, run the pass, check the after-graph and that ORT
// computes the same outputs from both.
#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include "analysis/compare.h"
#include "core/errors.h"
#include "exec/executor.h"
#include "ir/graph.h"
#include "rewrite/deduplicate_initializers.h"
#include "rewrite/extract_constants.h"
#include "rewrite/remove_dead_nodes.h"
#include "rewrite/upgrade_opset.h"
#include "support/graph_builder.h"

using namespace onnxquant;
using onnxquant::test::GraphBuilder;

namespace {

int count_ops(const Model& m, const std::string& op) {
  int n = 0;
  for (const auto& node : m.proto().graph().node()) n += node.op_type() == op;
  return n;
}

// Runs both models on the same input and expects identical outputs (bitwise unless `tolerance`).
void expect_same_outputs(const Model& before, const Model& after, const NamedTensors& inputs, double min_cosine = 1.0) {
  onnx::checker::check_model(after.proto());
  auto a = Executor(before).run(inputs);
  auto b = Executor(after).run(inputs);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    if (min_cosine >= 1.0) EXPECT_EQ(t.bytes, b.at(name).bytes) << name;
    else EXPECT_GE(compare_tensors(t, b.at(name)).cosine, min_cosine) << name;
  }
}

}  // namespace

TEST(ExtractConstants, MovesConstantNodesIntoInitializers) {
  GraphBuilder b(11, 6);
  b.input("x", DType::Float32, {2, 3}).output("y", DType::Float32, {2, 3});
  auto& c = b.node("Constant", {}, {"w"});
  GraphBuilder::attr_tensor(c, "value", test::make_float_tensor({3}, {1, 2, 3}));
  auto& s = b.node("Constant", {}, {"s"});
  auto* a = s.add_attribute();
  a->set_name("value_float");
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(0.5f);
  b.node("Add", {"x", "w"}, {"h"});
  b.node("Mul", {"h", "s"}, {"y"});
  Model before = b.build();
  Model after = before.clone();
  ExtractConstants pass;
  ASSERT_TRUE(pass.match(after));
  const auto report = pass.apply(after);
  EXPECT_EQ(report.changes, 2);
  EXPECT_EQ(count_ops(after, "Constant"), 0);
  EXPECT_EQ(after.proto().graph().initializer_size(), 2);
  EXPECT_FALSE(pass.match(after));
  Graph g(after.proto().graph());
  EXPECT_FLOAT_EQ(g.constant_value("s")->as<float>()[0], 0.5f);
  expect_same_outputs(before, after, {{"x", test::random_float_tensor({2, 3}, 1)}});
}

TEST(ExtractConstants, IrBelow4DeclaresInitializersAsInputs) {
  GraphBuilder b(9, 3);
  b.input("x", DType::Float32, {3}).output("y", DType::Float32, {3});
  auto& c = b.node("Constant", {}, {"w"});
  GraphBuilder::attr_tensor(c, "value", test::make_float_tensor({3}, {1, 2, 3}));
  b.node("Add", {"x", "w"}, {"y"});
  Model m = b.build();
  ExtractConstants().run(m);
  ASSERT_EQ(m.proto().graph().input_size(), 2);
  EXPECT_EQ(m.proto().graph().input(1).name(), "w");
  Graph g(m.proto().graph());
  EXPECT_EQ(g.input_names(), std::vector<std::string>{"x"});  // an initializer is not a real input
  onnx::checker::check_model(m.proto());
}

TEST(DeduplicateInitializers, MergesIdenticalWeights) {
  GraphBuilder b;
  b.input("x", DType::Float32, {1, 8}).output("y", DType::Float32, {1, 8});
  const Tensor w = test::random_float_tensor({8, 8}, 7);
  b.initializer("w1", w).initializer("w2", w).initializer("w3", test::random_float_tensor({8, 8}, 8));
  b.node("MatMul", {"x", "w1"}, {"a"});
  b.node("MatMul", {"a", "w2"}, {"b"});
  b.node("MatMul", {"b", "w3"}, {"y"});
  Model before = b.build();
  Model after = before.clone();
  const auto report = DeduplicateInitializers().run(after);
  EXPECT_EQ(report.changes, 1);
  EXPECT_EQ(after.proto().graph().initializer_size(), 2);
  EXPECT_EQ(after.proto().graph().node(1).input(1), "w1");
  expect_same_outputs(before, after, {{"x", test::random_float_tensor({1, 8}, 2)}});
}

TEST(RemoveDeadNodes, RemovesUnreachableNodesKeepsSubgraphCaptures) {
  GraphBuilder b;
  b.input("x", DType::Float32, {3}).input("cond", DType::Bool, {}).output("y", DType::Float32, {3});
  b.initializer("unused", {1, 2, 3}, {3}).initializer("k", {2, 2, 2}, {3});
  b.node("Relu", {"x"}, {"dead1"});
  b.node("Neg", {"dead1"}, {"dead2"});
  b.node("Mul", {"x", "k"}, {"captured"});
  // An If whose branches read `captured` from the outer scope: Mul must stay.
  GraphBuilder then_b;
  then_b.output("t_out", DType::Float32, {3});
  then_b.node("Identity", {"captured"}, {"t_out"});
  GraphBuilder else_b;
  else_b.output("e_out", DType::Float32, {3});
  else_b.node("Neg", {"captured"}, {"e_out"});
  else_b.node("Relu", {"captured"}, {"e_dead"});
  auto& iff = b.node("If", {"cond"}, {"y"});
  GraphBuilder::attr_graph(iff, "then_branch", then_b.proto().graph());
  GraphBuilder::attr_graph(iff, "else_branch", else_b.proto().graph());
  Model before = b.build();
  Model after = before.clone();
  RemoveDeadNodes pass;
  ASSERT_TRUE(pass.match(after));
  const auto report = pass.apply(after);
  EXPECT_EQ(report.changes, 4);  // Relu, Neg, the unused initializer, and the dead Relu in else_branch
  EXPECT_EQ(after.proto().graph().node_size(), 2);
  EXPECT_EQ(after.proto().graph().initializer_size(), 1);
  EXPECT_FALSE(pass.match(after));
  Tensor cond(DType::Bool, {});
  for (uint8_t v : {0, 1}) {
    cond.as<uint8_t>()[0] = v;
    expect_same_outputs(before, after, {{"x", test::make_float_tensor({3}, {1, -2, 3})}, {"cond", cond}});
  }
}

TEST(UpgradeOpset, ConvertsSoftmaxWithUnknownRank) {
  // Opset 11 Softmax(axis=1) on a 4-D tensor whose rank ONNX cannot infer (it comes out of a Reshape
  // with a computed shape): the converter alone asserts; the explicit coercion makes it convertible.
  GraphBuilder b(11, 6);
  b.input("x", DType::Float32, {-1, -1}, {"n", "m"}).input("shape", DType::Int64, {4}).output("y", DType::Float32);
  b.node("Reshape", {"x", "shape"}, {"r"});
  auto& sm = b.node("Softmax", {"r"}, {"y"});
  GraphBuilder::attr_int(sm, "axis", 1);
  Model before = b.build();
  Model after = before.clone();
  UpgradeOpset pass(13);
  ASSERT_TRUE(pass.match(after));
  const auto report = pass.apply(after);
  EXPECT_EQ(after.opset(), 13);
  EXPECT_FALSE(pass.match(after));
  EXPECT_EQ(count_ops(after, "Flatten"), 1);
  Tensor shape(DType::Int64, {4});
  const int64_t dims[] = {2, 3, 2, 2};
  std::copy(dims, dims + 4, shape.as<int64_t>().begin());
  expect_same_outputs(before, after, {{"x", test::random_float_tensor({6, 4}, 4)}, {"shape", shape}}, 0.999999);
}

TEST(UpgradeOpset, LastAxisSoftmaxStaysOneNode) {
  GraphBuilder b(11, 6);
  b.input("x", DType::Float32, {2, 5}).output("y", DType::Float32, {2, 5});
  auto& sm = b.node("Softmax", {"x"}, {"y"});
  GraphBuilder::attr_int(sm, "axis", 1);
  Model after = b.build();
  UpgradeOpset(13).run(after);
  EXPECT_EQ(after.opset(), 13);
  EXPECT_EQ(after.proto().graph().node_size(), 1);
}

TEST(Graph, TopologicalOrderAndErrors) {
  GraphBuilder b;
  b.input("x", DType::Float32, {3}).output("y", DType::Float32, {3});
  b.node("Relu", {"h"}, {"y"}, "second");
  b.node("Neg", {"x"}, {"h"}, "first");
  Model m = b.build();
  Graph g(m.proto().graph());
  EXPECT_EQ(g.topological_order(), (std::vector<int>{1, 0}));
  EXPECT_EQ(g.producer("h"), 1);
  EXPECT_EQ(g.consumers("h"), std::vector<int>{0});

  GraphBuilder cyc;
  cyc.input("x", DType::Float32, {3}).output("y", DType::Float32, {3});
  cyc.node("Add", {"x", "b"}, {"a"}, "loop_a");
  cyc.node("Relu", {"a"}, {"b"}, "loop_b");
  cyc.node("Identity", {"a"}, {"y"});
  Model mc = cyc.build();
  try {
    Graph(mc.proto().graph()).topological_order();
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("cycle"), std::string::npos);
  }
  GraphBuilder miss;
  miss.input("x", DType::Float32, {3}).output("y", DType::Float32, {3});
  miss.node("Add", {"x", "ghost"}, {"y"}, "reads_ghost");
  Model mm = miss.build();
  try {
    Graph(mm.proto().graph()).topological_order();
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("ghost"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("reads_ghost"), std::string::npos);
  }
}
