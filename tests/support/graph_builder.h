// Builds small ONNX models in code for tests: the "before" graphs of passes and hand-checkable models.
#pragma once
#include <onnx/onnx_pb.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/model.h"
#include "ir/tensor_proto.h"

namespace onnxquant::test {

class GraphBuilder {
 public:
  explicit GraphBuilder(int64_t opset = 13, int64_t ir_version = 8) {
    model_.set_ir_version(ir_version);
    model_.set_producer_name("onnxquant-tests");
    auto* op = model_.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    model_.mutable_graph()->set_name("test");
  }

  // Symbolic dims: pass -1 and a name in `dim_params` (same position), or -1 alone for unknown.
  GraphBuilder& input(const std::string& name, DType type, const std::vector<int64_t>& shape,
                      const std::vector<std::string>& dim_params = {}) {
    fill_value_info(model_.mutable_graph()->add_input(), name, type, shape, dim_params);
    return *this;
  }
  GraphBuilder& output(const std::string& name, DType type, const std::vector<int64_t>& shape = {},
                       const std::vector<std::string>& dim_params = {}, bool rank_known = true) {
    auto* v = model_.mutable_graph()->add_output();
    if (rank_known) fill_value_info(v, name, type, shape, dim_params);
    else { v->set_name(name); v->mutable_type()->mutable_tensor_type()->set_elem_type(static_cast<int32_t>(type)); }
    return *this;
  }
  GraphBuilder& initializer(const std::string& name, const std::vector<float>& values, const std::vector<int64_t>& shape) {
    Tensor t(DType::Float32, shape);
    std::copy(values.begin(), values.end(), t.as<float>().begin());
    return initializer(name, t);
  }
  GraphBuilder& initializer_i64(const std::string& name, const std::vector<int64_t>& values, const std::vector<int64_t>& shape) {
    Tensor t(DType::Int64, shape);
    std::copy(values.begin(), values.end(), t.as<int64_t>().begin());
    return initializer(name, t);
  }
  GraphBuilder& initializer(const std::string& name, const Tensor& t) {
    tensor_to_proto(t, name, *model_.mutable_graph()->add_initializer());
    return *this;
  }
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs, const std::vector<std::string>& outputs,
                        const std::string& name = {}, const std::string& domain = {}) {
    auto* n = model_.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? op + "_" + std::to_string(model_.graph().node_size()) : name);
    if (!domain.empty()) n->set_domain(domain);
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return *n;
  }
  static void attr_int(onnx::NodeProto& n, const std::string& name, int64_t v) {
    auto* a = n.add_attribute(); a->set_name(name); a->set_type(onnx::AttributeProto::INT); a->set_i(v);
  }
  static void attr_float(onnx::NodeProto& n, const std::string& name, float v) {
    auto* a = n.add_attribute(); a->set_name(name); a->set_type(onnx::AttributeProto::FLOAT); a->set_f(v);
  }
  static void attr_ints(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n.add_attribute(); a->set_name(name); a->set_type(onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
  }
  static void attr_tensor(onnx::NodeProto& n, const std::string& name, const Tensor& t) {
    auto* a = n.add_attribute(); a->set_name(name); a->set_type(onnx::AttributeProto::TENSOR);
    tensor_to_proto(t, "", *a->mutable_t());
  }
  static void attr_graph(onnx::NodeProto& n, const std::string& name, const onnx::GraphProto& g) {
    auto* a = n.add_attribute(); a->set_name(name); a->set_type(onnx::AttributeProto::GRAPH);
    *a->mutable_g() = g;
  }
  onnx::ModelProto& proto() { return model_; }
  Model build() const { return Model(std::make_unique<onnx::ModelProto>(model_), "test.onnx"); }

 private:
  static void fill_value_info(onnx::ValueInfoProto* v, const std::string& name, DType type, const std::vector<int64_t>& shape,
                              const std::vector<std::string>& dim_params) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(static_cast<int32_t>(type));
    auto* sh = tt->mutable_shape();
    for (size_t i = 0; i < shape.size(); ++i) {
      auto* d = sh->add_dim();
      if (shape[i] >= 0) d->set_dim_value(shape[i]);
      else if (i < dim_params.size() && !dim_params[i].empty()) d->set_dim_param(dim_params[i]);
    }
  }
  onnx::ModelProto model_;
};

inline Tensor make_float_tensor(const std::vector<int64_t>& shape, const std::vector<float>& values) {
  Tensor t(DType::Float32, shape);
  std::copy(values.begin(), values.end(), t.as<float>().begin());
  return t;
}

// Deterministic pseudo-random floats in [lo, hi), for inputs and weights of test graphs.
inline Tensor random_float_tensor(const std::vector<int64_t>& shape, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  Tensor t(DType::Float32, shape);
  uint32_t s = seed * 2654435761u + 1;
  for (float& v : t.as<float>()) {
    s = s * 1664525u + 1013904223u;
    v = lo + (hi - lo) * static_cast<float>(s >> 8) / 16777216.0f;
  }
  return t;
}

}  // namespace onnxquant::test
