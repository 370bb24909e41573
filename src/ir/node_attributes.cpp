#include "ir/node_attributes.h"

#include <onnx/onnx_pb.h>

namespace onnxquant {

namespace {
const onnx::AttributeProto* find(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}
}  // namespace

int64_t int_attr(const onnx::NodeProto& node, const std::string& name, int64_t fallback) {
  const auto* a = find(node, name);
  return a ? a->i() : fallback;
}

float float_attr(const onnx::NodeProto& node, const std::string& name, float fallback) {
  const auto* a = find(node, name);
  return a ? a->f() : fallback;
}

std::string string_attr(const onnx::NodeProto& node, const std::string& name, const std::string& fallback) {
  const auto* a = find(node, name);
  return a ? a->s() : fallback;
}

std::vector<int64_t> ints_attr(const onnx::NodeProto& node, const std::string& name) {
  const auto* a = find(node, name);
  return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>{};
}

}  // namespace onnxquant
