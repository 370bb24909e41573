// inspect_model on small hand-built graphs: every count below is worked out by hand from the builder calls.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "analysis/inspect.h"
#include "support/graph_builder.h"

using namespace onnxquant;
using onnxquant::test::GraphBuilder;

namespace {

onnx::NodeProto* add_node(onnx::GraphProto& g, const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
                          const std::string& name) {
  auto* n = g.add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (auto& i : in) n->add_input(i);
  for (auto& o : out) n->add_output(o);
  return n;
}

// Main graph (8 nodes): 3 Constants (float[4] tensor, value_ints[3], value_float), Conv, Relu, Mul,
// com.microsoft FusedGemm, If. The If's then_branch holds a Constant float[2], an Add and a nested If
// (one Identity per branch); its else_branch one Identity. 14 nodes in all.
// Initializers: w float[4,3,3,3] (also listed as a graph input, IR<4 style), b float[4], shape int64[2].
GraphBuilder sample_model() {
  GraphBuilder gb(13);
  auto* ms = gb.proto().add_opset_import();
  ms->set_domain("com.microsoft");
  ms->set_version(1);
  gb.input("x", DType::Float32, {-1, 3, 8, 8}, {"batch"});
  gb.input("cond", DType::Bool, {});
  gb.input("w", DType::Float32, {4, 3, 3, 3});
  gb.initializer("w", test::random_float_tensor({4, 3, 3, 3}, 1));
  gb.initializer("b", std::vector<float>{1, 2, 3, 4}, {4});
  gb.initializer_i64("shape", {1, -1}, {2});

  auto& c1 = gb.node("Constant", {}, {"scale"}, "const_scale");
  GraphBuilder::attr_tensor(c1, "value", test::make_float_tensor({4}, {1, 1, 1, 1}));
  auto& c2 = gb.node("Constant", {}, {"axes"}, "const_axes");
  GraphBuilder::attr_ints(c2, "value_ints", {0, 1, 2});
  auto& c3 = gb.node("Constant", {}, {"alpha"}, "const_alpha");
  GraphBuilder::attr_float(c3, "value_float", 0.5f);
  gb.node("Conv", {"x", "w", "b"}, {"y"}, "conv");
  gb.node("Relu", {"y"}, {"r"}, "relu");
  gb.node("Mul", {"r", "scale"}, {"m"}, "mul");
  gb.node("FusedGemm", {"m"}, {"g"}, "fused", "com.microsoft");

  onnx::GraphProto inner_then, inner_else, then_branch, else_branch;
  add_node(inner_then, "Identity", {"t1"}, {"i1"}, "inner_then_id");
  add_node(inner_else, "Identity", {"t1"}, {"i2"}, "inner_else_id");
  auto* k = add_node(then_branch, "Constant", {}, {"k"}, "const_k");
  GraphBuilder::attr_tensor(*k, "value", test::make_float_tensor({2}, {0.5f, 0.25f}));
  add_node(then_branch, "Add", {"g", "k"}, {"t1"}, "add");
  auto* inner_if = add_node(then_branch, "If", {"cond"}, {"t_out"}, "inner_if");
  GraphBuilder::attr_graph(*inner_if, "then_branch", inner_then);
  GraphBuilder::attr_graph(*inner_if, "else_branch", inner_else);
  add_node(else_branch, "Identity", {"g"}, {"e_out"}, "else_id");
  auto& outer_if = gb.node("If", {"cond"}, {"out"}, "outer_if");
  GraphBuilder::attr_graph(outer_if, "then_branch", then_branch);
  GraphBuilder::attr_graph(outer_if, "else_branch", else_branch);

  gb.output("out", DType::Float32, {-1, 4}, {"batch"});
  auto* kv = gb.proto().add_metadata_props();
  kv->set_key("author");
  kv->set_value("tests");
  return gb;
}

}  // namespace

TEST(Inspect, HeaderFieldsAndInterface) {
  const ModelSummary s = inspect_model(sample_model().build());
  EXPECT_EQ(s.ir_version, 8);
  EXPECT_EQ(s.producer_name, "onnxquant-tests");
  EXPECT_EQ(s.graph_name, "test");
  EXPECT_EQ(s.opsets, (std::map<std::string, int64_t>{{"ai.onnx", 13}, {"com.microsoft", 1}}));
  ASSERT_EQ(s.inputs.size(), 2u);  // "w" is an initializer, not a real input
  EXPECT_EQ(s.inputs[0].name, "x");
  EXPECT_EQ(shape_text(s.inputs[0].shape), "[batch,3,8,8]");
  EXPECT_EQ(s.inputs[1].dtype, DType::Bool);
  EXPECT_EQ(shape_text(s.inputs[1].shape), "[]");
  ASSERT_EQ(s.outputs.size(), 1u);
  EXPECT_EQ(shape_text(s.outputs[0].shape), "[batch,4]");
  ASSERT_EQ(s.metadata.size(), 1u);
  EXPECT_EQ(s.metadata[0], (std::pair<std::string, std::string>{"author", "tests"}));
  EXPECT_FALSE(s.file_bytes);  // built in memory
  EXPECT_GT(s.model_bytes, 432u);
}

TEST(Inspect, OpHistogramMainGraphAndWithSubgraphs) {
  const ModelSummary s = inspect_model(sample_model().build());
  EXPECT_EQ(s.nodes, 8);
  EXPECT_EQ(s.nodes_total, 14);
  const std::map<std::string, int64_t> main{{"Constant", 3}, {"Conv", 1}, {"Relu", 1}, {"Mul", 1}, {"com.microsoft:FusedGemm", 1}, {"If", 1}};
  EXPECT_EQ(s.ops, main);
  const std::map<std::string, int64_t> total{{"Constant", 4}, {"Conv", 1}, {"Relu", 1}, {"Mul", 1}, {"com.microsoft:FusedGemm", 1},
                                             {"If", 2}, {"Add", 1}, {"Identity", 3}};
  EXPECT_EQ(s.ops_total, total);
}

TEST(Inspect, SubgraphsInPreOrderWithDepth) {
  const ModelSummary s = inspect_model(sample_model().build());
  ASSERT_EQ(s.subgraphs.size(), 4u);
  auto check = [&](size_t i, const char* owner, const char* attr, int depth, int64_t nodes, int64_t nested) {
    SCOPED_TRACE(i);
    EXPECT_EQ(s.subgraphs[i].owner_name, owner);
    EXPECT_EQ(s.subgraphs[i].owner_op, "If");
    EXPECT_EQ(s.subgraphs[i].attribute, attr);
    EXPECT_EQ(s.subgraphs[i].depth, depth);
    EXPECT_EQ(s.subgraphs[i].nodes, nodes);
    EXPECT_EQ(s.subgraphs[i].nodes_nested, nested);
  };
  check(0, "outer_if", "then_branch", 1, 3, 5);
  check(1, "inner_if", "then_branch", 2, 1, 1);
  check(2, "inner_if", "else_branch", 2, 1, 1);
  check(3, "outer_if", "else_branch", 1, 1, 1);
}

TEST(Inspect, ParametersBySourceAndDtype) {
  const ParameterSummary p = inspect_model(sample_model().build()).parameters;
  // Initializers: w 108 x 4 B, b 4 x 4 B, shape 2 x 8 B.
  EXPECT_EQ(p.initializers.tensors, 3);
  EXPECT_EQ(p.initializers.elements, 114);
  EXPECT_EQ(p.initializers.bytes, 464u);
  // Constants: scale float[4] 16 B, axes int64[3] 24 B, alpha float scalar 4 B, k float[2] 8 B (in a subgraph).
  EXPECT_EQ(p.constant_nodes.tensors, 4);
  EXPECT_EQ(p.constant_nodes.elements, 10);
  EXPECT_EQ(p.constant_nodes.bytes, 52u);
  EXPECT_EQ(p.total.tensors, 7);
  EXPECT_EQ(p.total.elements, 124);
  EXPECT_EQ(p.total.bytes, 516u);
  ASSERT_EQ(p.by_dtype.size(), 2u);
  EXPECT_EQ(p.by_dtype.at(DType::Float32).tensors, 5);
  EXPECT_EQ(p.by_dtype.at(DType::Float32).elements, 119);
  EXPECT_EQ(p.by_dtype.at(DType::Float32).bytes, 476u);
  EXPECT_EQ(p.by_dtype.at(DType::Int64).tensors, 2);
  EXPECT_EQ(p.by_dtype.at(DType::Int64).bytes, 40u);
}

TEST(Inspect, LargestTensorsOrderedBySizeThenName) {
  const ModelSummary s = inspect_model(sample_model().build(), InspectOptions{.largest_tensors = 3});
  ASSERT_EQ(s.largest_tensors.size(), 3u);
  EXPECT_EQ(s.largest_tensors[0].name, "w");
  EXPECT_EQ(s.largest_tensors[0].bytes, 432u);
  EXPECT_EQ(s.largest_tensors[0].shape, (Shape{4, 3, 3, 3}));
  EXPECT_EQ(s.largest_tensors[1].name, "axes");
  EXPECT_EQ(s.largest_tensors[1].source, TensorSource::ConstantNode);
  EXPECT_EQ(s.largest_tensors[1].bytes, 24u);
  EXPECT_EQ(s.largest_tensors[2].name, "b");  // 16 B, tied with "scale" and "shape": name breaks the tie
  EXPECT_TRUE(inspect_model(sample_model().build(), InspectOptions{.largest_tensors = 0}).largest_tensors.empty());
}

TEST(Inspect, LogicalBytesOfHalfPackedAndStringTensors) {
  GraphBuilder gb;
  gb.input("x", DType::Float32, {1});
  Tensor h(DType::Float16, {3});
  gb.initializer("half", h);
  auto* i4 = gb.proto().mutable_graph()->add_initializer();
  i4->set_name("packed");
  i4->set_data_type(static_cast<int32_t>(DType::Int4));
  i4->add_dims(5);
  i4->set_raw_data(std::string(3, '\0'));  // 5 nibbles round up to 3 bytes
  auto* str = gb.proto().mutable_graph()->add_initializer();
  str->set_name("labels");
  str->set_data_type(static_cast<int32_t>(DType::String));
  str->add_dims(2);
  str->add_string_data("ab");
  str->add_string_data("cde");
  gb.node("Identity", {"x"}, {"y"});
  gb.output("y", DType::Float32, {1});
  const ParameterSummary p = inspect_model(gb.build()).parameters;
  EXPECT_EQ(p.by_dtype.at(DType::Float16).bytes, 6u);
  EXPECT_EQ(p.by_dtype.at(DType::Int4).bytes, 3u);
  EXPECT_EQ(p.by_dtype.at(DType::Int4).elements, 5);
  EXPECT_EQ(p.by_dtype.at(DType::String).bytes, 5u);
  EXPECT_EQ(p.total.bytes, 14u);
}

TEST(Inspect, FileSizeOfALoadedModel) {
  const auto path = std::filesystem::temp_directory_path() / ("onnxq-inspect-" + std::to_string(::getpid()) + ".onnx");
  sample_model().build().save(path);
  const ModelSummary s = inspect_model(Model::load(path));
  EXPECT_EQ(s.file_bytes, std::filesystem::file_size(path));
  EXPECT_EQ(s.path, path.string());
  std::filesystem::remove(path);
}

TEST(Inspect, JsonHasDocumentedKeysAndShapes) {
  const nlohmann::json j = to_json(inspect_model(sample_model().build(), InspectOptions{.largest_tensors = 1}));
  EXPECT_EQ(j["command"], "inspect");
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["model"]["ir_version"], 8);
  EXPECT_EQ(j["model"]["metadata"]["author"], "tests");
  EXPECT_EQ(j["opsets"]["ai.onnx"], 13);
  EXPECT_EQ(j["inputs"][0]["shape"], nlohmann::json::parse(R"(["batch",3,8,8])"));
  EXPECT_EQ(j["inputs"][0]["dtype"], "float32");
  EXPECT_EQ(j["nodes"]["main_graph"], 8);
  EXPECT_EQ(j["nodes"]["total"], 14);
  EXPECT_EQ(j["ops"]["com.microsoft:FusedGemm"], 1);
  EXPECT_EQ(j["ops_total"]["Identity"], 3);
  EXPECT_EQ(j["parameters"]["total"]["bytes"], 516);
  EXPECT_EQ(j["parameters"]["constant_nodes"]["tensors"], 4);
  EXPECT_EQ(j["parameters"]["by_dtype"]["int64"]["elements"], 5);
  ASSERT_EQ(j["largest_tensors"].size(), 1u);
  EXPECT_EQ(j["largest_tensors"][0]["name"], "w");
  EXPECT_EQ(j["largest_tensors"][0]["source"], "initializer");
  EXPECT_EQ(j["largest_tensors"][0]["shape"], nlohmann::json::parse("[4,3,3,3]"));
  EXPECT_EQ(j["subgraphs"][1]["depth"], 2);
  EXPECT_TRUE(j["size"]["file_bytes"].is_null());
}

TEST(Inspect, UnknownRankAndUnknownDimsInJson) {
  GraphBuilder gb;
  gb.input("x", DType::Float32, {-1, 3});
  gb.node("Identity", {"x"}, {"y"});
  gb.output("y", DType::Float32, {}, {}, /*rank_known=*/false);
  const nlohmann::json j = to_json(inspect_model(gb.build()));
  EXPECT_EQ(j["inputs"][0]["shape"], nlohmann::json::parse("[null,3]"));
  EXPECT_TRUE(j["outputs"][0]["shape"].is_null());
  EXPECT_EQ(shape_text(inspect_model(gb.build()).inputs[0].shape), "[?,3]");
}
