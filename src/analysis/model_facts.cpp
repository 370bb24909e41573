#include "analysis/model_facts.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <system_error>

#include "core/errors.h"
#include "ir/tensor_proto.h"

namespace onnxquant {

bool same_type(const IoEntry& a, const IoEntry& b) {
  if (a.dtype != b.dtype || a.shape.has_value() != b.shape.has_value()) return false;
  if (!a.shape) return true;
  if (a.shape->size() != b.shape->size()) return false;
  for (size_t i = 0; i < a.shape->size(); ++i) {
    const Dim &x = (*a.shape)[i], &y = (*b.shape)[i];
    if (x.value != y.value || x.param != y.param) return false;
  }
  return true;
}

static IoEntry io_entry(const onnx::ValueInfoProto& info) {
  const ValueType vt = value_type_from_proto(info);
  return IoEntry{info.name(), vt.dtype, vt.shape};
}

std::vector<IoEntry> graph_inputs(const onnx::GraphProto& graph) {
  std::set<std::string> initializers;
  for (const auto& t : graph.initializer()) initializers.insert(t.name());
  std::vector<IoEntry> out;
  for (const auto& v : graph.input())
    if (!initializers.count(v.name())) out.push_back(io_entry(v));
  return out;
}

std::vector<IoEntry> graph_outputs(const onnx::GraphProto& graph) {
  std::vector<IoEntry> out;
  for (const auto& v : graph.output()) out.push_back(io_entry(v));
  return out;
}

std::string qualified_op(const onnx::NodeProto& node) {
  const std::string& d = node.domain();
  if (d.empty() || d == "ai.onnx") return node.op_type();
  return d + ":" + node.op_type();
}

const char* tensor_source_name(TensorSource source) {
  return source == TensorSource::Initializer ? "initializer" : "constant";
}

uint64_t logical_bytes(DType dtype, int64_t elements) {
  if (elements <= 0) return 0;
  const auto n = static_cast<uint64_t>(elements);
  if (dtype == DType::Int4 || dtype == DType::UInt4) return (n + 1) / 2;
  return n * dtype_size(dtype);
}

namespace {

// Product of dims without throwing: a malformed tensor must not stop `inspect` from describing the rest.
int64_t safe_elements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return 0;
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) return 0;
    n *= d;
  }
  return n;
}

uint64_t string_bytes(const google::protobuf::RepeatedPtrField<std::string>& strings) {
  uint64_t total = 0;
  for (const auto& s : strings) total += s.size();
  return total;
}

ParamTensor from_proto(const onnx::TensorProto& t, std::string name, TensorSource source, int depth) {
  ParamTensor p;
  p.name = std::move(name);
  p.source = source;
  p.dtype = dtype_from_onnx(t.data_type());
  p.shape.assign(t.dims().begin(), t.dims().end());
  p.elements = safe_elements(p.shape);
  if (p.dtype == DType::String) p.bytes = string_bytes(t.string_data());
  else if (p.dtype == DType::Undefined) p.bytes = t.raw_data().size();
  else p.bytes = logical_bytes(p.dtype, p.elements);
  p.depth = depth;
  p.proto = &t;
  return p;
}

// A Constant node's value held in a non-tensor attribute (value_float, value_ints, ...).
std::optional<ParamTensor> from_scalar_attribute(const onnx::AttributeProto& a, std::string name, int depth) {
  ParamTensor p;
  p.name = std::move(name);
  p.source = TensorSource::ConstantNode;
  p.depth = depth;
  p.attribute = &a;
  const std::string& k = a.name();
  if (k == "value_float") p.dtype = DType::Float32;
  else if (k == "value_floats") { p.dtype = DType::Float32; p.shape = {a.floats_size()}; }
  else if (k == "value_int") p.dtype = DType::Int64;
  else if (k == "value_ints") { p.dtype = DType::Int64; p.shape = {a.ints_size()}; }
  else if (k == "value_string") { p.dtype = DType::String; p.bytes = a.s().size(); }
  else if (k == "value_strings") { p.dtype = DType::String; p.shape = {a.strings_size()}; p.bytes = string_bytes(a.strings()); }
  else if (k == "sparse_value" && a.has_sparse_tensor()) {
    const auto& sp = a.sparse_tensor();
    p.dtype = dtype_from_onnx(sp.values().data_type());
    p.shape.assign(sp.dims().begin(), sp.dims().end());
    p.elements = safe_elements(p.shape);
    // Stored size: the values plus the indices, which is what the sparse form costs.
    const auto stored = [](const onnx::TensorProto& t) {
      Shape s(t.dims().begin(), t.dims().end());
      return logical_bytes(dtype_from_onnx(t.data_type()), safe_elements(s));
    };
    p.bytes = stored(sp.values()) + stored(sp.indices());
    return p;
  } else return std::nullopt;
  p.elements = safe_elements(p.shape);
  if (p.dtype != DType::String) p.bytes = logical_bytes(p.dtype, p.elements);
  return p;
}

void collect(const onnx::GraphProto& graph, int depth, std::vector<ParamTensor>& out) {
  for (const auto& t : graph.initializer()) out.push_back(from_proto(t, t.name(), TensorSource::Initializer, depth));
  for (const auto& node : graph.node()) {
    const bool is_constant = node.op_type() == "Constant" && (node.domain().empty() || node.domain() == "ai.onnx");
    const std::string name = node.output_size() > 0 ? node.output(0) : node.name();
    for (const auto& a : node.attribute()) {
      if (is_constant) {
        if (a.has_t()) out.push_back(from_proto(a.t(), name, TensorSource::ConstantNode, depth));
        else if (auto p = from_scalar_attribute(a, name, depth)) out.push_back(std::move(*p));
      }
      if (a.has_g()) collect(a.g(), depth + 1, out);
      for (const auto& g : a.graphs()) collect(g, depth + 1, out);
    }
  }
}

template <typename T, typename Values>
std::string pack(const Values& values) {
  std::string out;
  for (const auto& value : values) {
    const T v = static_cast<T>(value);
    out.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  return out;
}

}  // namespace

std::vector<ParamTensor> collect_parameters(const onnx::GraphProto& graph) {
  std::vector<ParamTensor> out;
  collect(graph, 0, out);
  return out;
}

std::string param_content(const ParamTensor& t) {
  if (t.proto) {
    const auto& p = *t.proto;
    if (p.has_raw_data()) return p.raw_data();
    try {
      Tensor decoded = tensor_from_proto(p);
      return std::string(reinterpret_cast<const char*>(decoded.bytes.data()), decoded.bytes.size());
    } catch (const std::exception&) {
      // Strings, 4-bit types or malformed data: the proto without its name still compares exactly.
      onnx::TensorProto copy = p;
      copy.clear_name();
      copy.clear_doc_string();
      return copy.SerializeAsString();
    }
  }
  if (!t.attribute) return {};
  const auto& a = *t.attribute;
  if (a.name() == "value_float") return pack<float>(std::array<float, 1>{a.f()});
  if (a.name() == "value_floats") return pack<float>(a.floats());
  if (a.name() == "value_int") return pack<int64_t>(std::array<int64_t, 1>{a.i()});
  if (a.name() == "value_ints") return pack<int64_t>(a.ints());
  onnx::AttributeProto copy = a;
  copy.clear_name();
  copy.clear_doc_string();
  return copy.SerializeAsString();
}

std::optional<double> max_abs_difference(const ParamTensor& a, const ParamTensor& b) {
  if (a.dtype != b.dtype || a.elements != b.elements || dtype_size(a.dtype) == 0 || a.dtype == DType::Bool) return std::nullopt;
  try {
    auto decode = [](const ParamTensor& t) {
      Tensor x;
      x.dtype = t.dtype;
      x.shape = t.shape;
      const std::string bytes = param_content(t);
      if (bytes.size() != logical_bytes(t.dtype, t.elements)) throw DataError("size mismatch");
      x.bytes.resize(bytes.size());
      std::memcpy(x.bytes.data(), bytes.data(), bytes.size());
      return x.to_doubles();
    };
    const std::vector<double> x = decode(a), y = decode(b);
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double d = std::fabs(x[i] - y[i]);
      if (std::isnan(d)) return std::numeric_limits<double>::quiet_NaN();
      worst = std::max(worst, d);
    }
    return worst;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<uint64_t> file_size_of(const std::filesystem::path& path) {
  if (path.empty()) return std::nullopt;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return std::nullopt;
  return size;
}

nlohmann::json shape_to_json(const std::optional<std::vector<Dim>>& shape) {
  if (!shape) return nullptr;
  auto out = nlohmann::json::array();
  for (const Dim& d : *shape) {
    if (d.value) out.push_back(*d.value);
    else if (!d.param.empty()) out.push_back(d.param);
    else out.push_back(nullptr);
  }
  return out;
}

nlohmann::json shape_to_json(const Shape& shape) {
  auto out = nlohmann::json::array();
  for (int64_t d : shape) out.push_back(d);
  return out;
}

nlohmann::json to_json(const IoEntry& io) {
  return {{"name", io.name}, {"dtype", dtype_name(io.dtype)}, {"shape", shape_to_json(io.shape)}};
}

std::string shape_text(const std::optional<std::vector<Dim>>& shape) {
  return format_shape(ValueType{DType::Undefined, shape});
}

}  // namespace onnxquant
