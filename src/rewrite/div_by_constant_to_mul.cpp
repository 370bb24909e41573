#include "rewrite/div_by_constant_to_mul.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <map>

#include "ir/model.h"
#include "ir/tensor_proto.h"
#include "rewrite/name_allocator.h"

namespace onnxquant {

namespace {

const onnx::TensorProto* divisor(const onnx::GraphProto& g, const onnx::NodeProto& n) {
  if (n.op_type() != "Div" || !n.domain().empty() || n.input_size() != 2) return nullptr;
  for (const auto& t : g.initializer()) {
    if (t.name() != n.input(1)) continue;
    if (t.data_type() != onnx::TensorProto::FLOAT) return nullptr;
    const Tensor v = tensor_from_proto(t);
    for (float x : v.as<float>())
      if (x == 0.f || !std::isfinite(x) || !std::isfinite(1.0 / x)) return nullptr;
    return &t;
  }
  return nullptr;
}

}  // namespace

bool DivByConstantToMul::match(const Model& model) const {
  const auto& g = model.proto().graph();
  for (const auto& n : g.node())
    if (divisor(g, n)) return true;
  return false;
}

PassReport DivByConstantToMul::apply(Model& model) const {
  PassReport report{name(), 0, {}};
  auto& g = *model.proto().mutable_graph();
  NameAllocator names(g);
  std::map<std::string, std::string> reciprocal;  // divisor -> its reciprocal initializer
  for (auto& n : *g.mutable_node()) {
    const onnx::TensorProto* c = divisor(g, n);
    if (!c) continue;
    auto it = reciprocal.find(c->name());
    if (it == reciprocal.end()) {
      Tensor r = tensor_from_proto(*c);
      for (float& x : r.as<float>()) x = static_cast<float>(1.0 / static_cast<double>(x));
      const std::string name = names.unique(c->name() + "_reciprocal");
      tensor_to_proto(r, name, *g.add_initializer());  // may reallocate: `c` is not used after this
      it = reciprocal.emplace(n.input(1), name).first;
    }
    n.set_op_type("Mul");
    n.set_input(1, it->second);
    ++report.changes;
  }
  report.notes.push_back(std::to_string(report.changes) + " Div by a constant turned into Mul by its reciprocal");
  return report;
}

}  // namespace onnxquant
