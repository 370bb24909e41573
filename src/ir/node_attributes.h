// Reading a node's attributes with the ONNX default when the attribute is absent.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace onnx {
class NodeProto;
}

namespace onnxquant {

int64_t int_attr(const onnx::NodeProto& node, const std::string& name, int64_t fallback);
float float_attr(const onnx::NodeProto& node, const std::string& name, float fallback);
std::string string_attr(const onnx::NodeProto& node, const std::string& name, const std::string& fallback = {});
std::vector<int64_t> ints_attr(const onnx::NodeProto& node, const std::string& name);  // empty when absent

}  // namespace onnxquant
