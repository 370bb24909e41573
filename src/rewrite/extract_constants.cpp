#include "rewrite/extract_constants.h"

#include <onnx/onnx_pb.h>

#include <set>

#include "ir/graph_walk.h"
#include "ir/model.h"
#include "ir/tensor_proto.h"

namespace onnxquant {

namespace {

bool is_constant(const onnx::NodeProto& n) { return n.op_type() == "Constant" && (n.domain().empty() || n.domain() == "ai.onnx"); }

// The constant's tensor as an initializer, or false for forms we leave alone (sparse, strings).
bool constant_tensor(const onnx::NodeProto& n, onnx::TensorProto& out) {
  if (n.attribute_size() != 1 || n.output_size() != 1) return false;
  const auto& a = n.attribute(0);
  if (a.name() == "value" && a.has_t()) {
    if (a.t().data_type() == onnx::TensorProto::STRING) return false;
    out = a.t();
  } else if (a.name() == "value_float") {
    out.set_data_type(onnx::TensorProto::FLOAT);
    out.add_float_data(a.f());
  } else if (a.name() == "value_floats") {
    out.set_data_type(onnx::TensorProto::FLOAT);
    out.add_dims(a.floats_size());
    for (float f : a.floats()) out.add_float_data(f);
  } else if (a.name() == "value_int") {
    out.set_data_type(onnx::TensorProto::INT64);
    out.add_int64_data(a.i());
  } else if (a.name() == "value_ints") {
    out.set_data_type(onnx::TensorProto::INT64);
    out.add_dims(a.ints_size());
    for (auto i : a.ints()) out.add_int64_data(i);
  } else {
    return false;
  }
  out.set_name(n.output(0));
  return true;
}

std::set<std::string> output_names(const onnx::GraphProto& g) {
  std::set<std::string> s;
  for (const auto& o : g.output()) s.insert(o.name());
  return s;
}

}  // namespace

bool ExtractConstants::match(const Model& model) const {
  bool found = false;
  for_each_graph(model.proto().graph(), [&](const onnx::GraphProto& g) {
    const auto outs = output_names(g);
    for (const auto& n : g.node()) {
      onnx::TensorProto t;
      found = found || (is_constant(n) && !outs.count(n.output(0)) && constant_tensor(n, t));
    }
  });
  return found;
}

PassReport ExtractConstants::apply(Model& model) const {
  PassReport report{name(), 0, {}};
  const bool inputs_must_list_initializers = model.proto().ir_version() < 4;
  for_each_graph(*model.proto().mutable_graph(), [&](onnx::GraphProto& g) {
    const auto outs = output_names(g);
    google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
    for (auto& n : *g.mutable_node()) {
      onnx::TensorProto t;
      if (is_constant(n) && !outs.count(n.output(0)) && constant_tensor(n, t)) {
        if (inputs_must_list_initializers) {
          auto* in = g.add_input();
          in->set_name(t.name());
          auto* tt = in->mutable_type()->mutable_tensor_type();
          tt->set_elem_type(t.data_type());
          auto* shape = tt->mutable_shape();
          for (auto d : t.dims()) shape->add_dim()->set_dim_value(d);
        }
        *g.add_initializer() = std::move(t);
        ++report.changes;
      } else {
        *kept.Add() = std::move(n);
      }
    }
    g.mutable_node()->Swap(&kept);
  });
  if (report.changes) report.notes.push_back("moved " + std::to_string(report.changes) + " Constant node(s) into initializers");
  return report;
}

}  // namespace onnxquant
