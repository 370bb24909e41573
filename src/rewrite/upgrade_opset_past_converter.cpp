#include "rewrite/upgrade_opset_past_converter.h"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <set>

#include "core/errors.h"
#include "ir/model.h"
#include "rewrite/name_allocator.h"

namespace onnxquant {

namespace {

const std::set<std::string> kReduceAxesToInput{"ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
                                               "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare"};

bool default_domain(const onnx::NodeProto& n) { return n.domain().empty() || n.domain() == "ai.onnx"; }

std::string label(const onnx::NodeProto& n) { return fmt::format("{} '{}'", n.op_type(), n.name().empty() ? n.output(0) : n.name()); }

int rewrite_graph(onnx::GraphProto& g, NameAllocator& names, int64_t from, int64_t target) {
  int changes = 0;
  for (auto& n : *g.mutable_node()) {
    for (auto& a : *n.mutable_attribute()) {
      if (a.has_g()) changes += rewrite_graph(*a.mutable_g(), names, from, target);
      for (auto& sub : *a.mutable_graphs()) changes += rewrite_graph(sub, names, from, target);
    }
    if (!default_domain(n)) continue;
    if (from < 20 && target >= 20 && (n.op_type() == "GridSample" || n.op_type() == "DFT"))
      throw UnsupportedOpError(fmt::format("{}: its meaning changed at opset 20 and onnxquant does not convert it (needed for opset {})", label(n), target),
                               "quantize to 8 bits (opset 13 is enough) or export the model at opset 21");
    if (from < 18 && target >= 18 && kReduceAxesToInput.count(n.op_type())) {
      google::protobuf::RepeatedPtrField<onnx::AttributeProto> kept;
      const onnx::AttributeProto* axes = nullptr;
      for (const auto& a : n.attribute()) {
        if (a.name() == "axes") axes = &a;
        else *kept.Add() = a;
      }
      if (!axes) continue;
      const std::string name = names.unique((n.name().empty() ? n.output(0) : n.name()) + "_axes");
      auto* t = g.add_initializer();
      t->set_name(name);
      t->set_data_type(onnx::TensorProto::INT64);
      t->add_dims(axes->ints_size());
      for (auto v : axes->ints()) t->add_int64_data(v);
      n.mutable_attribute()->Swap(&kept);
      while (n.input_size() < 1) n.add_input("");
      n.add_input(name);
      ++changes;
    }
  }
  return changes;
}

}  // namespace

bool UpgradeOpsetPastConverter::match(const Model& model) const { return model.opset() < target_; }

PassReport UpgradeOpsetPastConverter::apply(Model& model) const {
  PassReport report{name(), 0, {}};
  const int64_t from = model.opset();
  if (from >= target_) return report;
  if (from < kConverterMaxOpset)
    throw InternalError(fmt::format("upgrade past the converter starts at opset {}, the model has {}", kConverterMaxOpset, from));
  if (target_ > 21) throw InternalError(fmt::format("no rules for opset {} (21 is the newest handled)", target_));
  NameAllocator names(model.proto().graph());
  report.changes = rewrite_graph(*model.proto().mutable_graph(), names, from, target_);
  for (auto& op : *model.proto().mutable_opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") op.set_version(target_);
  // Opset 21 needs IR version 10 (INT4 types).
  if (target_ >= 21 && model.proto().ir_version() < 10) model.proto().set_ir_version(10);
  else if (target_ >= 19 && model.proto().ir_version() < 9) model.proto().set_ir_version(9);
  report.notes.push_back(fmt::format("opset {} -> {}: {} Reduce node(s) given `axes` as an input", from, target_, report.changes));
  return report;
}

}  // namespace onnxquant
