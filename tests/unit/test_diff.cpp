// diff_models on small hand-built graphs: one kind of change per test, checking the exact entries.
#include <gtest/gtest.h>

#include "analysis/diff.h"
#include "support/graph_builder.h"

using namespace onnxquant;
using onnxquant::test::GraphBuilder;

namespace {

// x[batch,3,8,8] -> Conv(w, b) -> Relu -> Mul(scale: Constant float[4]) -> Reshape(shape) -> out.
// Parameters: w float[4,3,3,3] 432 B, b float[4] 16 B, shape int64[2] 16 B, scale float[4] 16 B.
GraphBuilder base() {
  GraphBuilder gb(13);
  gb.input("x", DType::Float32, {-1, 3, 8, 8}, {"batch"});
  gb.initializer("w", test::random_float_tensor({4, 3, 3, 3}, 7));
  gb.initializer("b", std::vector<float>{1, 2, 3, 4}, {4});
  gb.initializer_i64("shape", {1, -1}, {2});
  auto& c = gb.node("Constant", {}, {"scale"}, "const_scale");
  GraphBuilder::attr_tensor(c, "value", test::make_float_tensor({4, 1, 1}, {1, 1, 1, 1}));
  auto& conv = gb.node("Conv", {"x", "w", "b"}, {"y"}, "conv");
  GraphBuilder::attr_ints(conv, "pads", {1, 1, 1, 1});
  gb.node("Relu", {"y"}, {"r"}, "relu");
  gb.node("Mul", {"r", "scale"}, {"m"}, "mul");
  gb.node("Reshape", {"m", "shape"}, {"out"}, "reshape");
  gb.output("out", DType::Float32, {-1, 256}, {"batch"});
  return gb;
}

onnx::TensorProto* find_initializer(GraphBuilder& gb, const std::string& name) {
  for (auto& t : *gb.proto().mutable_graph()->mutable_initializer())
    if (t.name() == name) return &t;
  return nullptr;
}

}  // namespace

TEST(Diff, IdenticalModels) {
  const Model a = base().build();
  const ModelDiff d = diff_models(a, a.clone());
  EXPECT_TRUE(d.identical);
  EXPECT_TRUE(d.inputs.empty());
  EXPECT_TRUE(d.outputs.empty());
  EXPECT_TRUE(d.op_counts.empty());
  EXPECT_TRUE(d.tensors.empty());
  EXPECT_EQ(d.tensors.unchanged, 4);
  EXPECT_EQ(d.nodes_a, 5);
  EXPECT_EQ(d.nodes_b, 5);
  EXPECT_EQ(d.parameter_bytes.a, 480u);
  EXPECT_EQ(d.parameter_bytes.ratio(), 1.0);
  const nlohmann::json j = to_json(d);
  EXPECT_EQ(j["command"], "diff");
  EXPECT_EQ(j["identical"], true);
  EXPECT_EQ(j["tensors"]["unchanged"], 4);
  EXPECT_EQ(j["size"]["parameter_bytes"]["ratio"], 1.0);
  EXPECT_TRUE(j["size"]["file_bytes"]["a"].is_null());
}

TEST(Diff, NodeNamesAndOrderDoNotMatter) {
  GraphBuilder b = base();
  auto* nodes = b.proto().mutable_graph()->mutable_node();
  for (auto& n : *nodes) n.set_name("renamed_" + n.name());
  nodes->SwapElements(2, 3);
  EXPECT_TRUE(diff_models(base().build(), b.build()).identical);
}

TEST(Diff, InputAndOutputShapeChanges) {
  GraphBuilder b = base();
  auto* dim = b.proto().mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0);
  dim->set_dim_value(1);  // batch -> 1
  b.proto().mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->set_elem_type(static_cast<int32_t>(DType::Float16));
  const ModelDiff d = diff_models(base().build(), b.build());
  EXPECT_FALSE(d.identical);
  ASSERT_EQ(d.inputs.changed.size(), 1u);
  EXPECT_EQ(d.inputs.changed[0].before.name, "x");
  EXPECT_EQ(shape_text(d.inputs.changed[0].before.shape), "[batch,3,8,8]");
  EXPECT_EQ(shape_text(d.inputs.changed[0].after.shape), "[1,3,8,8]");
  ASSERT_EQ(d.outputs.changed.size(), 1u);
  EXPECT_EQ(d.outputs.changed[0].before.dtype, DType::Float32);
  EXPECT_EQ(d.outputs.changed[0].after.dtype, DType::Float16);
  EXPECT_TRUE(d.op_counts.empty());
  EXPECT_TRUE(d.tensors.empty());
  const nlohmann::json j = to_json(d);
  EXPECT_EQ(j["inputs"]["changed"][0]["a"]["shape"], nlohmann::json::parse(R"(["batch",3,8,8])"));
  EXPECT_EQ(j["inputs"]["changed"][0]["b"]["shape"], nlohmann::json::parse("[1,3,8,8]"));
  EXPECT_EQ(j["outputs"]["changed"][0]["b"]["dtype"], "float16");
}

TEST(Diff, InputsAddedAndRemoved) {
  GraphBuilder b = base();
  b.proto().mutable_graph()->mutable_input(0)->set_name("images");
  const ModelDiff d = diff_models(base().build(), b.build());
  ASSERT_EQ(d.inputs.removed.size(), 1u);
  EXPECT_EQ(d.inputs.removed[0].name, "x");
  ASSERT_EQ(d.inputs.added.size(), 1u);
  EXPECT_EQ(d.inputs.added[0].name, "images");
  EXPECT_TRUE(d.inputs.changed.empty());
}

TEST(Diff, OpCountChangesAndNodeCounts) {
  GraphBuilder b = base();
  b.proto().mutable_graph()->mutable_node(4)->set_input(0, "m2");  // Reshape now reads a second Relu
  b.node("Relu", {"m"}, {"m2"}, "relu2");
  b.node("Sigmoid", {"out"}, {"unused"}, "sig");
  const ModelDiff d = diff_models(base().build(), b.build());
  EXPECT_EQ(d.nodes_a, 5);
  EXPECT_EQ(d.nodes_b, 7);
  ASSERT_EQ(d.op_counts.size(), 2u);  // sorted by op type
  EXPECT_EQ(d.op_counts[0].op, "Relu");
  EXPECT_EQ(d.op_counts[0].before, 1);
  EXPECT_EQ(d.op_counts[0].after, 2);
  EXPECT_EQ(d.op_counts[1].op, "Sigmoid");
  EXPECT_EQ(d.op_counts[1].before, 0);
  EXPECT_EQ(d.op_counts[1].after, 1);
  EXPECT_EQ(d.nodes_only_in_a, 1);  // the old Reshape
  EXPECT_EQ(d.nodes_only_in_b, 3);  // new Reshape, Relu, Sigmoid
  EXPECT_EQ(to_json(d)["op_counts"][0]["delta"], 1);
}

TEST(Diff, AttributeEditWithSameOpCountsIsNotIdentical) {
  GraphBuilder b = base();
  b.proto().mutable_graph()->mutable_node(1)->mutable_attribute(0)->set_ints(0, 0);  // Conv pads changed
  const ModelDiff d = diff_models(base().build(), b.build());
  EXPECT_TRUE(d.op_counts.empty());
  EXPECT_EQ(d.nodes_only_in_a, 1);
  EXPECT_EQ(d.nodes_only_in_b, 1);
  EXPECT_FALSE(d.identical);
}

TEST(Diff, TensorDtypeShapeValueChanges) {
  GraphBuilder b = base();
  // w: one value moved by 0.5 (same dtype and shape) -> "values", max |a-b| 0.5.
  Tensor w = test::random_float_tensor({4, 3, 3, 3}, 7);
  w.as<float>()[17] += 0.5f;
  tensor_to_proto(w, "w", *find_initializer(b, "w"));
  // b: float[4] -> float[5] -> "shape".
  tensor_to_proto(test::make_float_tensor({5}, {1, 2, 3, 4, 5}), "b", *find_initializer(b, "b"));
  // shape: int64 -> int32 -> "dtype".
  Tensor s32(DType::Int32, {2});
  s32.as<int32_t>()[0] = 1;
  s32.as<int32_t>()[1] = -1;
  tensor_to_proto(s32, "shape", *find_initializer(b, "shape"));
  // A new initializer, and the Constant's value edited in place.
  b.initializer("extra", std::vector<float>{0, 0}, {2});
  tensor_to_proto(test::make_float_tensor({4, 1, 1}, {1, 1, 2, 1}), "", *b.proto().mutable_graph()->mutable_node(0)->mutable_attribute(0)->mutable_t());

  const ModelDiff d = diff_models(base().build(), b.build());
  EXPECT_FALSE(d.identical);
  ASSERT_EQ(d.tensors.added.size(), 1u);
  EXPECT_EQ(d.tensors.added[0].name, "extra");
  EXPECT_EQ(d.tensors.added[0].bytes, 8u);
  EXPECT_TRUE(d.tensors.removed.empty());
  EXPECT_EQ(d.tensors.unchanged, 0);
  ASSERT_EQ(d.tensors.changed.size(), 4u);  // by name: b, scale, shape, w
  EXPECT_EQ(d.tensors.changed[0].before.name, "b");
  EXPECT_EQ(d.tensors.changed[0].kind, TensorChangeKind::Shape);
  EXPECT_FALSE(d.tensors.changed[0].max_abs_diff);
  EXPECT_EQ(d.tensors.changed[1].before.name, "scale");
  EXPECT_EQ(d.tensors.changed[1].kind, TensorChangeKind::Values);
  EXPECT_EQ(d.tensors.changed[1].before.source, TensorSource::ConstantNode);
  EXPECT_EQ(d.tensors.changed[1].max_abs_diff, 1.0);
  EXPECT_EQ(d.tensors.changed[2].before.name, "shape");
  EXPECT_EQ(d.tensors.changed[2].kind, TensorChangeKind::DType);
  EXPECT_EQ(d.tensors.changed[2].after.dtype, DType::Int32);
  EXPECT_EQ(d.tensors.changed[3].before.name, "w");
  EXPECT_EQ(d.tensors.changed[3].kind, TensorChangeKind::Values);
  ASSERT_TRUE(d.tensors.changed[3].max_abs_diff);
  EXPECT_NEAR(*d.tensors.changed[3].max_abs_diff, 0.5, 1e-6);
  // Only Constant nodes changed among the nodes, and those are compared as tensors.
  EXPECT_EQ(d.nodes_only_in_a, 0);
  EXPECT_EQ(d.nodes_only_in_b, 0);
  // 480 B before; after: w 432 + b 20 + shape 8 + scale 16 + extra 8 = 484 B.
  EXPECT_EQ(d.parameter_bytes.a, 480u);
  EXPECT_EQ(d.parameter_bytes.b, 484u);
  EXPECT_NEAR(*d.parameter_bytes.ratio(), 484.0 / 480.0, 1e-12);

  const nlohmann::json j = to_json(d);
  EXPECT_EQ(j["tensors"]["changed"][0]["change"], "shape");
  EXPECT_TRUE(j["tensors"]["changed"][0]["max_abs_diff"].is_null());
  EXPECT_EQ(j["tensors"]["changed"][2]["change"], "dtype");
  EXPECT_EQ(j["tensors"]["changed"][3]["a"]["shape"], nlohmann::json::parse("[4,3,3,3]"));
  EXPECT_EQ(j["tensors"]["added"][0]["name"], "extra");
}

TEST(Diff, RawDataAndTypedFieldsWithSameValuesAreEqual) {
  GraphBuilder b = base();
  // Same values as base's "b", stored in float_data instead of raw_data.
  auto* t = find_initializer(b, "b");
  t->clear_raw_data();
  for (float v : {1.f, 2.f, 3.f, 4.f}) t->add_float_data(v);
  EXPECT_TRUE(diff_models(base().build(), b.build()).identical);
}

TEST(Diff, OpsetAndModelFieldChanges) {
  GraphBuilder b(17);
  b.proto() = base().proto();
  b.proto().mutable_opset_import(0)->set_version(17);
  auto* ms = b.proto().add_opset_import();
  ms->set_domain("com.microsoft");
  ms->set_version(1);
  b.proto().set_producer_name("onnxquant");
  const ModelDiff d = diff_models(base().build(), b.build());
  ASSERT_EQ(d.opsets.size(), 2u);
  EXPECT_EQ(d.opsets[0].domain, "ai.onnx");
  EXPECT_EQ(d.opsets[0].before, 13);
  EXPECT_EQ(d.opsets[0].after, 17);
  EXPECT_EQ(d.opsets[1].domain, "com.microsoft");
  EXPECT_EQ(d.opsets[1].before, 0);
  ASSERT_EQ(d.model_fields.size(), 1u);
  EXPECT_EQ(d.model_fields[0].field, "producer_name");
  EXPECT_EQ(d.model_fields[0].after, "onnxquant");
  EXPECT_FALSE(d.identical);
}

TEST(Diff, SubgraphEditsShowInOpCountsAndNodes) {
  auto with_if = [](const char* inner_op) {
    GraphBuilder gb = base();
    gb.input("cond", DType::Bool, {});
    onnx::GraphProto then_g, else_g;
    auto* n = then_g.add_node();
    n->set_op_type(inner_op);
    n->add_input("out");
    n->add_output("t");
    auto* e = else_g.add_node();
    e->set_op_type("Identity");
    e->add_input("out");
    e->add_output("t2");
    auto& node = gb.node("If", {"cond"}, {"final"}, "if");
    GraphBuilder::attr_graph(node, "then_branch", then_g);
    GraphBuilder::attr_graph(node, "else_branch", else_g);
    return gb;
  };
  const ModelDiff d = diff_models(with_if("Relu").build(), with_if("Sigmoid").build());
  EXPECT_EQ(d.nodes_total_a, 8);
  ASSERT_EQ(d.op_counts.size(), 2u);
  EXPECT_EQ(d.op_counts[0].op, "Relu");
  EXPECT_EQ(d.op_counts[0].before, 2);
  EXPECT_EQ(d.op_counts[1].op, "Sigmoid");
  EXPECT_EQ(d.nodes_only_in_a, 1);  // the If node, whose subgraph differs
  EXPECT_FALSE(d.identical);
}
