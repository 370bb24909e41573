#include "rewrite/upgrade_opset.h"

#include <onnx/onnx_pb.h>
#include <onnx/version_converter/convert.h>

#include "core/errors.h"
#include "ir/graph.h"
#include "ir/model.h"
#include "ir/shape_inference.h"

namespace onnxquant {

namespace {

bool is_softmax_family(const onnx::NodeProto& n) {
  return (n.domain().empty() || n.domain() == "ai.onnx") &&
         (n.op_type() == "Softmax" || n.op_type() == "LogSoftmax" || n.op_type() == "Hardmax");
}

int64_t axis_of(const onnx::NodeProto& n) {
  for (const auto& a : n.attribute())
    if (a.name() == "axis") return a.i();
  return 1;  // the default below opset 13
}

// Rewrites Softmax-family nodes of a graph (below opset 13) whose axis is not known to be the last one
// into the explicit Flatten -> op(axis=1) -> Reshape(Shape(x)) form. Returns the number rewritten.
int make_softmax_coercion_explicit(onnx::GraphProto& g) {
  const Graph view(g);
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  int rewritten = 0;
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    if (!is_softmax_family(n)) { *nodes.Add() = n; continue; }
    int64_t axis = axis_of(n);
    const auto type = view.value_type(n.input(0));
    if (type && type->shape) {
      const auto rank = static_cast<int64_t>(type->shape->size());
      if (axis < 0) axis += rank;
      if (axis == rank - 1) { *nodes.Add() = n; continue; }  // the converter handles this itself
    }
    const std::string base = n.name().empty() ? n.output(0) : n.name();
    const std::string flat = n.output(0) + "__flat2d", soft = n.output(0) + "__soft2d", shape = n.output(0) + "__inshape";
    auto* flatten = nodes.Add();
    flatten->set_op_type("Flatten");
    flatten->set_name(base + "__flatten");
    flatten->add_input(n.input(0));
    flatten->add_output(flat);
    auto* fa = flatten->add_attribute();
    fa->set_name("axis");
    fa->set_type(onnx::AttributeProto::INT);
    fa->set_i(axis_of(n));
    onnx::NodeProto* op = nodes.Add();
    *op = n;
    op->set_input(0, flat);
    op->set_output(0, soft);
    op->clear_attribute();
    for (const auto& a : n.attribute())
      if (a.name() != "axis") *op->add_attribute() = a;
    auto* oa = op->add_attribute();
    oa->set_name("axis");
    oa->set_type(onnx::AttributeProto::INT);
    oa->set_i(1);
    auto* shape_node = nodes.Add();
    shape_node->set_op_type("Shape");
    shape_node->set_name(base + "__shape");
    shape_node->add_input(n.input(0));
    shape_node->add_output(shape);
    auto* reshape = nodes.Add();
    reshape->set_op_type("Reshape");
    reshape->set_name(base + "__reshape");
    reshape->add_input(soft);
    reshape->add_input(shape);
    reshape->add_output(n.output(0));
    // Tell the converter the flattened tensor is 2-D, so it can see axis 1 is the last axis.
    auto* vi = g.add_value_info();
    vi->set_name(flat);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(type ? static_cast<int32_t>(type->dtype) : onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim();
    tt->mutable_shape()->add_dim();
    ++rewritten;
  }
  g.mutable_node()->Swap(&nodes);
  for (auto& n : *g.mutable_node())
    for (auto& attr : *n.mutable_attribute()) {
      if (attr.has_g()) rewritten += make_softmax_coercion_explicit(*attr.mutable_g());
      for (auto& sub : *attr.mutable_graphs()) rewritten += make_softmax_coercion_explicit(sub);
    }
  return rewritten;
}

}  // namespace

bool UpgradeOpset::match(const Model& model) const { return model.opset() < target_; }

PassReport UpgradeOpset::apply(Model& model) const {
  PassReport report{name(), 0, {}};
  const int64_t from = model.opset();
  if (from >= target_) return report;
  if (from < 13 && target_ >= 13) {
    infer_shapes(model);  // ranks let most Softmax nodes stay as they are
    const int n = make_softmax_coercion_explicit(*model.proto().mutable_graph());
    if (n) report.notes.push_back("made the 2-D coercion of " + std::to_string(n) + " Softmax-family node(s) explicit (rank unknown or axis not last)");
  }
  onnx::ModelProto converted;
  try {
    converted = onnx::version_conversion::ConvertVersion(model.proto(), static_cast<int>(target_));
  } catch (const std::exception& e) {
    throw UnsupportedOpError("ONNX's version converter cannot take this model from opset " + std::to_string(from) + " to " +
                                 std::to_string(target_) + ": " + e.what(),
                             "export the model at opset " + std::to_string(target_) + " or newer");
  }
  // The converter rebuilds the graph through ONNX's IR and drops value_info it cannot carry; the
  // model-level fields it does not know about are restored from the original.
  converted.set_producer_name(model.proto().producer_name());
  converted.set_producer_version(model.proto().producer_version());
  *converted.mutable_metadata_props() = model.proto().metadata_props();
  model.proto() = std::move(converted);
  report.changes = 1;
  report.notes.push_back("converted opset " + std::to_string(from) + " -> " + std::to_string(target_) + " with ONNX's version converter");
  return report;
}

}  // namespace onnxquant
