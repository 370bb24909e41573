#include "rewrite/hard_sigmoid_to_clip.h"

#include <onnx/onnx_pb.h>

#include <map>
#include <optional>

#include "ir/model.h"
#include "ir/node_attributes.h"
#include "ir/tensor_proto.h"
#include "rewrite/name_allocator.h"

namespace onnxquant {

namespace {

const onnx::TensorProto* float_initializer(const onnx::GraphProto& g, const std::string& name) {
  for (const auto& t : g.initializer())
    if (t.name() == name) return t.data_type() == onnx::TensorProto::FLOAT ? &t : nullptr;
  return nullptr;
}

Tensor scalar(float v) {
  Tensor t(DType::Float32, {});
  t.as<float>()[0] = v;
  return t;
}

struct Site {
  int conv, hard_sigmoid;
};

// Conv -> HardSigmoid pairs the rule applies to.
std::vector<Site> find_sites(const Model& model) {
  std::vector<Site> out;
  if (model.opset("") < 11) return out;  // Clip takes min/max as inputs from opset 11
  const auto& g = model.proto().graph();
  std::map<std::string, int> producer;
  std::map<std::string, int> readers;
  for (int i = 0; i < g.node_size(); ++i) {
    for (const auto& o : g.node(i).output()) producer[o] = i;
    for (const auto& in : g.node(i).input()) ++readers[in];
  }
  for (const auto& o : g.output()) ++readers[o.name()];
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& hs = g.node(i);
    if (hs.op_type() != "HardSigmoid" || !hs.domain().empty() || hs.input_size() != 1) continue;
    auto p = producer.find(hs.input(0));
    if (p == producer.end() || readers[hs.input(0)] != 1) continue;
    const auto& conv = g.node(p->second);
    if (conv.op_type() != "Conv" || !conv.domain().empty() || conv.input_size() < 2 || conv.output_size() != 1) continue;
    const auto* w = float_initializer(g, conv.input(1));
    if (!w || w->dims_size() < 3) continue;
    if (conv.input_size() > 2 && !conv.input(2).empty() && !float_initializer(g, conv.input(2))) continue;
    out.push_back({p->second, i});
  }
  return out;
}

}  // namespace

bool HardSigmoidToClip::match(const Model& model) const { return !find_sites(model).empty(); }

PassReport HardSigmoidToClip::apply(Model& model) const {
  PassReport report{name(), 0, {}};
  const std::vector<Site> sites = find_sites(model);
  auto& g = *model.proto().mutable_graph();
  NameAllocator names(g);
  const std::string zero = names.unique("hard_sigmoid_clip_min"), one = names.unique("hard_sigmoid_clip_max");
  tensor_to_proto(scalar(0.f), zero, *g.add_initializer());
  tensor_to_proto(scalar(1.f), one, *g.add_initializer());
  for (const Site& s : sites) {
    onnx::NodeProto& conv = *g.mutable_node(s.conv);
    onnx::NodeProto& hs = *g.mutable_node(s.hard_sigmoid);
    const float alpha = float_attr(hs, "alpha", 0.2f), beta = float_attr(hs, "beta", 0.5f);
    Tensor w = tensor_from_proto(*float_initializer(g, conv.input(1)));
    const int64_t channels = w.shape[0];
    std::optional<Tensor> b;
    if (conv.input_size() > 2 && !conv.input(2).empty()) b = tensor_from_proto(*float_initializer(g, conv.input(2)));
    Tensor nb(DType::Float32, {channels});
    for (int64_t c = 0; c < channels; ++c)
      nb.as<float>()[c] = static_cast<float>(static_cast<double>(alpha) * (b ? b->as<float>()[c] : 0.f) + beta);
    for (float& v : w.as<float>()) v = static_cast<float>(static_cast<double>(alpha) * v);
    const std::string w_name = names.unique(conv.input(1) + "_hard_sigmoid"), b_name = names.unique(conv.name() + "_hard_sigmoid_bias");
    tensor_to_proto(w, w_name, *g.add_initializer());
    tensor_to_proto(nb, b_name, *g.add_initializer());
    conv.set_input(1, w_name);
    if (conv.input_size() > 2) conv.set_input(2, b_name);
    else conv.add_input(b_name);
    const std::string scaled = names.unique(conv.output(0) + "_hard_sigmoid_input");
    conv.set_output(0, scaled);
    hs.set_op_type("Clip");
    hs.clear_attribute();
    hs.set_input(0, scaled);
    hs.add_input(zero);
    hs.add_input(one);
    ++report.changes;
  }
  report.notes.push_back(std::to_string(report.changes) + " Conv -> HardSigmoid pairs turned into Conv -> Clip(0, 1)");
  return report;
}

}  // namespace onnxquant
