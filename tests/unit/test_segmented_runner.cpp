// Calibration's segmented execution: cut a model into consecutive segments, run them in order, and get
// exactly the tensors a single run with every tensor exposed gives, while only boundary tensors stay alive.
#include <gtest/gtest.h>

#include <onnx/onnx_pb.h>

#include "calib/ranges_file.h"
#include "calib/segmented_runner.h"
#include "exec/executor.h"
#include "io/npy.h"
#include "ir/shape_inference.h"
#include "pipeline/calibrate_job.h"
#include "rewrite/expose_tensors.h"
#include "rewrite/extract_segment.h"
#include "support/graph_builder.h"
#include "support/temp_dir.h"

using namespace onnxquant;

namespace {

// x -> Relu(a) -> Sigmoid(b) -> Add(b, x) = c -> Mul(c, a) = d -> Tanh = y: `x` and `a` are read two and
// three nodes after they are produced, so they must cross segment boundaries.
Model skip_connection_model() {
  test::GraphBuilder b;
  b.input("x", DType::Float32, {-1, 4, 6}, {"n", "", ""}).output("y", DType::Float32, {-1, 4, 6}, {"n", "", ""});
  b.node("Relu", {"x"}, {"a"});
  b.node("Sigmoid", {"a"}, {"b"});
  b.node("Add", {"b", "x"}, {"c"});
  b.node("Mul", {"c", "a"}, {"d"});
  b.node("Tanh", {"d"}, {"y"});
  return b.build();
}

const std::vector<std::string> kExposed{"a", "b", "c", "d"};

NamedTensors reference_run(const NamedTensors& sample) {
  Model m = skip_connection_model();
  ExposeTensors(kExposed).run(m);
  Executor ex(m);
  return ex.run(sample, kExposed);
}

NamedTensors run_all_segments(SegmentedRunner& runner, const NamedTensors& sample) {
  NamedTensors live = sample, all;
  double seconds = 0;
  for (size_t s = 0; s < runner.segments().size(); ++s)
    for (auto& [name, view] : runner.run_segment(s, live, seconds)) all.emplace(name, view.copy());
  EXPECT_TRUE(live.empty()) << "boundary tensors outlived their last reader";
  return all;
}

void expect_same(const NamedTensors& want, const NamedTensors& got) {
  ASSERT_EQ(want.size(), got.size());
  for (const auto& [name, t] : want) {
    ASSERT_TRUE(got.count(name)) << name;
    EXPECT_EQ(got.at(name).shape, t.shape) << name;
    EXPECT_EQ(got.at(name).bytes, t.bytes) << name;
  }
}

}  // namespace

TEST(SegmentedRunner, OneNodePerSegmentGivesTheSingleRunsTensors) {
  const NamedTensors sample{{"x", test::random_float_tensor({2, 4, 6}, 3)}};
  SegmentedRunner runner(skip_connection_model(), kExposed, sample, {}, /*budget_bytes=*/1);
  ASSERT_EQ(runner.segments().size(), 4u);  // Tanh computes nothing to observe: not run
  for (const auto& s : runner.segments()) EXPECT_EQ(s.nodes, 1);
  EXPECT_EQ(runner.segments()[0].estimated_bytes, 2 * 4 * 6 * 4);  // `a` at the first sample's shape
  EXPECT_EQ(runner.float_outputs(), kExposed);
  expect_same(reference_run(sample), run_all_segments(runner, sample));
  // Segments accept other sizes than the one they were planned for.
  const NamedTensors other{{"x", test::random_float_tensor({3, 4, 6}, 4)}};
  expect_same(reference_run(other), run_all_segments(runner, other));
}

TEST(SegmentedRunner, ModelThatFitsTheBudgetIsOneSegment) {
  const NamedTensors sample{{"x", test::random_float_tensor({1, 4, 6}, 5)}};
  SegmentedRunner runner(skip_connection_model(), kExposed, sample, {}, int64_t{1} << 30);
  ASSERT_EQ(runner.segments().size(), 1u);
  EXPECT_EQ(runner.segments()[0].nodes, 5);
  EXPECT_EQ(runner.segments()[0].exposed, 4);
  expect_same(reference_run(sample), run_all_segments(runner, sample));
}

TEST(SegmentedRunner, BudgetGroupsNodesUntilTheirOutputsFill) {
  const NamedTensors sample{{"x", test::random_float_tensor({1, 4, 6}, 6)}};
  // 96 bytes per exposed tensor: two of them fit in 200 bytes; Tanh's output is not exposed (0 bytes).
  SegmentedRunner runner(skip_connection_model(), kExposed, sample, {}, 200);
  ASSERT_EQ(runner.segments().size(), 2u);
  EXPECT_EQ(runner.segments()[0].exposed, 2);
  EXPECT_EQ(runner.segments()[1].nodes, 3);  // Mul and Add; Tanh rides along (its output is not fetched)
  expect_same(reference_run(sample), run_all_segments(runner, sample));
}

TEST(ExtractSegment, SubgraphCapturesBecomeInputs) {
  // x -> Relu = a; If(cond) { then: a + 1, else: a - 1 } = y. The If reads `a` only from its branches.
  test::GraphBuilder b;
  b.input("x", DType::Float32, {3}).input("cond", DType::Bool, {}).output("y", DType::Float32, {3});
  b.initializer("one", {1.f, 1.f, 1.f}, {3});
  b.node("Relu", {"x"}, {"a"});
  auto branch = [](const std::string& op) {
    onnx::GraphProto g;
    g.set_name(op);
    auto* n = g.add_node();
    n->set_op_type(op);
    n->add_input("a");
    n->add_input("one");
    n->add_output(op + "_out");
    auto* out = g.add_output();
    out->set_name(op + "_out");
    out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
    return g;
  };
  auto& iff = b.node("If", {"cond"}, {"y"});
  test::GraphBuilder::attr_graph(iff, "then_branch", branch("Add"));
  test::GraphBuilder::attr_graph(iff, "else_branch", branch("Sub"));
  Model whole = b.build();
  infer_shapes(whole);
  const Model second = extract_segment(whole, {1}, {"y"});
  const auto& g = second.proto().graph();
  std::vector<std::string> inputs;
  for (const auto& in : g.input()) inputs.push_back(in.name());
  std::sort(inputs.begin(), inputs.end());
  EXPECT_EQ(inputs, (std::vector<std::string>{"a", "cond"}));
  ASSERT_EQ(g.initializer_size(), 1);  // `one`, read only from inside the branches
  EXPECT_EQ(g.initializer(0).name(), "one");

  Tensor cond(DType::Bool, {});
  cond.bytes[0] = std::byte{1};
  const NamedTensors sample{{"x", test::make_float_tensor({3}, {-1.f, 0.5f, 2.f})}, {"cond", cond}};
  SegmentedRunner runner(whole.clone(), {"a", "y"}, sample, {}, 1);
  ASSERT_EQ(runner.segments().size(), 2u);
  NamedTensors live = sample;
  double seconds = 0;
  const NamedOutputs first = runner.run_segment(0, live, seconds);
  EXPECT_EQ(first.at("a").as<float>()[1], 0.5f);
  EXPECT_TRUE(live.count("a") && live.count("cond"));  // both read by the If in the next segment
  const NamedOutputs second_part = runner.run_segment(1, live, seconds);
  EXPECT_EQ(second_part.at("y").as<float>()[2], 3.f);  // then-branch: relu(2) + 1
  EXPECT_TRUE(live.empty());
}

TEST(CalibrateJob, SegmentedCalibrationGivesTheSameRanges) {
  test::TempDir dir;
  skip_connection_model().save(dir / "m.onnx");
  write_npy(dir / "x.npy", test::random_float_tensor({6, 2, 4, 6}, 9, -2.f, 3.f));
  CalibrateRequest req;
  req.model = dir / "m.onnx";
  req.inputs.files = {(dir / "x.npy").string()};
  req.progress = ProgressMode::Off;
  const CalibrateResult whole = calibrate_model(req);
  req.segment_budget_bytes = 1;
  const CalibrateResult cut = calibrate_model(req);
  EXPECT_EQ(whole.segments, 1);
  EXPECT_EQ(cut.segments, 5);  // one node each: the graph output y is observed too
  EXPECT_EQ(cut.samples, 6);
  ASSERT_EQ(whole.ranges.tensors.size(), cut.ranges.tensors.size());
  for (const auto& [name, t] : whole.ranges.tensors) {
    ASSERT_TRUE(cut.ranges.tensors.count(name)) << name;
    EXPECT_EQ(cut.ranges.tensors.at(name).observed_min, t.observed_min) << name;
    EXPECT_EQ(cut.ranges.tensors.at(name).observed_max, t.observed_max) << name;
  }
}
