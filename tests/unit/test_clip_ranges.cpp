// calib/clip_to_consumers.h: ranges of tensors read only by Clip/Relu are cut to what those let through.
#include <gtest/gtest.h>

#include "calib/clip_to_consumers.h"
#include "support/graph_builder.h"

using namespace onnxquant;
using onnxquant::test::GraphBuilder;

TEST(ClipRangesToConsumers, CutsToClipBoundsKeepsZeroAndLeavesMixedReaders) {
  GraphBuilder b;
  b.input("x", DType::Float32, {1, 4}).output("y", DType::Float32, {1, 4}).output("z", DType::Float32, {1, 4});
  b.initializer("lo", {0.f}, {});
  b.initializer("hi", {6.f}, {});
  b.node("Neg", {"x"}, {"a"});                 // a: read by one Clip(0, 6)
  b.node("Clip", {"a", "lo", "hi"}, {"y0"});
  b.node("Abs", {"x"}, {"p"});                 // p: read by Clip(0, 6) and Relu -> union [0, inf)
  b.node("Clip", {"p", "lo", "hi"}, {"p1"});
  b.node("Relu", {"p"}, {"p2"});
  b.node("Exp", {"x"}, {"m"});                 // m: read by a Clip and an Add -> untouched
  b.node("Clip", {"m", "lo", "hi"}, {"m1"});
  b.node("Add", {"m", "m1"}, {"m2"});
  b.node("Sum", {"y0", "p1", "p2", "m2"}, {"y"});
  b.node("Identity", {"y"}, {"z"});
  const Model model = b.build();
  std::map<std::string, Range> ranges{{"a", {-30, 25}}, {"p", {-1, 9}}, {"m", {-2, 8}}, {"y0", {0, 6}}, {"x", {-3, -1}}};
  EXPECT_EQ(clip_ranges_to_consumers(model, ranges), 2);  // p1, p2, m1 have no range: p keeps its own
  EXPECT_EQ(ranges["a"], (Range{0, 6}));
  EXPECT_EQ(ranges["p"], (Range{0, 9}));
  EXPECT_EQ(ranges["m"], (Range{-2, 8}));
  EXPECT_EQ(ranges["y0"], (Range{0, 6}));
}

TEST(ClipRangesToConsumers, RangeInsideTheBoundsAndComputedBoundsStay) {
  GraphBuilder b;
  b.input("x", DType::Float32, {1, 4}).input("top", DType::Float32, {}).output("y", DType::Float32, {1, 4}).output("w", DType::Float32, {1, 4});
  b.initializer("lo", {-1.f}, {});
  b.initializer("hi", {1.f}, {});
  b.node("Neg", {"x"}, {"a"});
  b.node("Clip", {"a", "lo", "hi"}, {"y"});
  b.node("Abs", {"x"}, {"c"});
  b.node("Clip", {"c", "lo", "top"}, {"w"});  // max is a graph input: unknown
  const Model model = b.build();
  std::map<std::string, Range> ranges{{"a", {-0.5, 0.5}}, {"c", {0, 9}}};
  EXPECT_EQ(clip_ranges_to_consumers(model, ranges), 0);
  EXPECT_EQ(ranges["a"], (Range{-0.5, 0.5}));
  EXPECT_EQ(ranges["c"], (Range{0, 9}));
}

TEST(ClipRangesToConsumers, TensorWithoutRangeTakesItsClipReadersOutputRange) {
  GraphBuilder b;
  b.input("x", DType::Float32, {1, 4}).output("y", DType::Float32, {1, 4});
  b.initializer("lo", {0.f}, {});
  b.initializer("hi", {6.f}, {});
  b.node("Neg", {"x"}, {"a"});
  b.node("Clip", {"a", "lo", "hi"}, {"c1"});
  b.node("Relu", {"a"}, {"c2"});
  b.node("Add", {"c1", "c2"}, {"y"});
  const Model model = b.build();
  std::map<std::string, Range> ranges{{"c1", {0, 5.5}}, {"c2", {0, 7}}};
  EXPECT_EQ(clip_ranges_to_consumers(model, ranges), 1);
  EXPECT_EQ(ranges["a"], (Range{0, 7}));
  std::map<std::string, Range> partial{{"c1", {0, 5.5}}};  // one reader uncalibrated: nothing to take
  EXPECT_EQ(clip_ranges_to_consumers(model, partial), 0);
  EXPECT_FALSE(partial.count("a"));
}
