// Malformed and hostile models built in code, shared by the library-level tests
// (unit/test_hostile_models.cpp) and the CLI tests (e2e/test_hostile_models_cli.cpp): each is what a
// downloaded model file could contain, and each must be refused at load with a LoadError naming it.
#pragma once
#include <onnx/onnx_pb.h>

#include <functional>
#include <string>
#include <vector>

#include "support/graph_builder.h"

namespace onnxquant::test {

struct HostileModel {
  std::string name;         // file stem and test label
  std::string fragment;     // must appear in the error message (besides the file's path)
  onnx::ModelProto proto;
};

// x + w, where w's data lives in an external file at `location` (relative to the model's folder).
inline onnx::ModelProto with_external_location(const std::string& location) {
  test::GraphBuilder b;
  b.input("x", DType::Float32, {1, 4}).output("y", DType::Float32, {1, 4});
  auto* t = b.proto().mutable_graph()->add_initializer();
  t->set_name("w");
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(1);
  t->add_dims(4);
  t->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* kv = t->add_external_data();
  kv->set_key("location");
  kv->set_value(location);
  b.node("Add", {"x", "w"}, {"y"}, "add");
  return b.proto();
}

inline onnx::ModelProto chain_model(int nodes) {
  GraphBuilder b;
  b.input("x", DType::Float32, {1, 8}).output("t" + std::to_string(nodes), DType::Float32, {1, 8});
  for (int i = 0; i < nodes; ++i) b.node("Relu", {i == 0 ? "x" : "t" + std::to_string(i)}, {"t" + std::to_string(i + 1)}, "relu_" + std::to_string(i));
  return b.proto();
}

inline std::vector<HostileModel> hostile_models() {
  std::vector<HostileModel> models;
  auto add = [&](const std::string& name, const std::string& fragment, const std::function<void(GraphBuilder&)>& build) {
    GraphBuilder b;
    b.input("x", DType::Float32, {1, 4}).output("y", DType::Float32, {1, 4});
    build(b);
    models.push_back({name, fragment, b.proto()});
  };
  add("cycle", "cycle through node", [](GraphBuilder& b) {
    b.node("Add", {"x", "c"}, {"a"}, "add");
    b.node("Relu", {"a"}, {"c"}, "relu");
    b.node("Identity", {"c"}, {"y"}, "out");
  });
  add("self_loop", "reads its own output 'a'", [](GraphBuilder& b) {
    b.node("Add", {"x", "a"}, {"a"}, "add");
    b.node("Identity", {"a"}, {"y"}, "out");
  });
  add("duplicate_output", "'h' is produced twice: by node 'first' (Relu) and by node 'second' (Neg)", [](GraphBuilder& b) {
    b.node("Relu", {"x"}, {"h"}, "first");
    b.node("Neg", {"x"}, {"h"}, "second");
    b.node("Identity", {"h"}, {"y"}, "out");
  });
  add("output_shadows_initializer", "'w' is both a graph input or initializer and the output of node 'relu'", [](GraphBuilder& b) {
    b.initializer("w", make_float_tensor({1, 4}, {1, 2, 3, 4}));
    b.node("Relu", {"x"}, {"w"}, "relu");
    b.node("Add", {"x", "w"}, {"y"}, "add");
  });
  add("missing_input", "node 'add' (Add) reads 'ghost', which nothing produces", [](GraphBuilder& b) {
    b.node("Add", {"x", "ghost"}, {"y"}, "add");
  });
  add("unproduced_output", "graph output 'y' is not produced", [](GraphBuilder& b) { b.node("Relu", {"x"}, {"z"}, "relu"); });
  // The If captures what its branch reads, so the outer graph's order already finds the missing tensor.
  add("missing_input_in_subgraph", "node 'if' (If) reads 'nowhere', which nothing produces", [](GraphBuilder& b) {
    b.input("cond", DType::Bool, {});
    GraphBuilder branch;
    branch.output("t", DType::Float32, {1, 4});
    branch.node("Neg", {"nowhere"}, {"t"}, "inner");
    GraphBuilder other;
    other.output("e", DType::Float32, {1, 4});
    other.node("Identity", {"x"}, {"e"}, "fine");  // reads the outer graph's input: allowed
    auto& n = b.node("If", {"cond"}, {"y"}, "if");
    GraphBuilder::attr_graph(n, "then_branch", branch.proto().graph());
    GraphBuilder::attr_graph(n, "else_branch", other.proto().graph());
  });
  // Declared sizes that disagree with the data: refused before anything allocates from the declaration.
  add("initializer_2pow40_elements", "initializer 'w': shape [1099511627776] needs 4398046511104 bytes of data, the file holds 16", [](GraphBuilder& b) {
    b.initializer("w", make_float_tensor({4}, {1, 2, 3, 4}));
    b.proto().mutable_graph()->mutable_initializer(0)->set_dims(0, int64_t{1} << 40);
    b.node("Add", {"x", "w"}, {"y"}, "add");
  });
  add("initializer_overflowing_dims", "more elements than fit in memory", [](GraphBuilder& b) {
    b.initializer("w", make_float_tensor({4}, {1, 2, 3, 4}));
    auto* w = b.proto().mutable_graph()->mutable_initializer(0);
    w->set_dims(0, int64_t{1} << 40);
    w->add_dims(int64_t{1} << 40);
    b.node("Add", {"x", "w"}, {"y"}, "add");
  });
  add("initializer_negative_dim", "initializer 'w': shape [-4] has a negative dimension", [](GraphBuilder& b) {
    b.initializer("w", make_float_tensor({4}, {1, 2, 3, 4}));
    b.proto().mutable_graph()->mutable_initializer(0)->set_dims(0, -4);
    b.node("Add", {"x", "w"}, {"y"}, "add");
  });
  add("initializer_typed_values_short", "initializer 'w': shape [4] declares 4 elements, the file holds 3", [](GraphBuilder& b) {
    auto* w = b.proto().mutable_graph()->add_initializer();
    w->set_name("w");
    w->set_data_type(onnx::TensorProto::FLOAT);
    w->add_dims(4);
    for (float v : {1.f, 2.f, 3.f}) w->add_float_data(v);
    b.node("Add", {"x", "w"}, {"y"}, "add");
  });
  add("constant_value_mismatch", "attribute 'value' of node 'const' (Constant): shape [1024,1024] needs 4194304 bytes", [](GraphBuilder& b) {
    auto& c = b.node("Constant", {}, {"c"}, "const");
    GraphBuilder::attr_tensor(c, "value", make_float_tensor({2}, {1, 2}));
    auto* t = c.mutable_attribute(0)->mutable_t();
    t->set_dims(0, 1024);
    t->add_dims(1024);
    b.node("Add", {"x", "c"}, {"y"}, "add");
  });
  return models;
}

}  // namespace onnxquant::test
