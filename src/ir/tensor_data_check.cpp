#include "ir/tensor_data_check.h"

#include <onnx/onnx_pb.h>

#include <limits>
#include <optional>

#include "core/errors.h"
#include "ir/external_data.h"
#include "ir/graph_walk.h"

namespace onnxquant {

namespace {

using onnx::TensorProto;

// Bytes per element in raw_data; nullopt for strings, 4-bit types (two per byte) and unknown types.
std::optional<uint64_t> raw_element_bytes(int32_t type) {
  switch (type) {
    case TensorProto::UINT8: case TensorProto::INT8: case TensorProto::BOOL:
    case 17: case 18: case 19: case 20:  // the float8 types
      return 1;
    case TensorProto::UINT16: case TensorProto::INT16: case TensorProto::FLOAT16: case TensorProto::BFLOAT16: return 2;
    case TensorProto::FLOAT: case TensorProto::INT32: case TensorProto::UINT32: return 4;
    case TensorProto::DOUBLE: case TensorProto::INT64: case TensorProto::UINT64: case TensorProto::COMPLEX64: return 8;
    case TensorProto::COMPLEX128: return 16;
    default: return std::nullopt;
  }
}

bool is_4bit(int32_t type) { return type == 21 || type == 22; }  // UINT4, INT4: two elements per byte

// Elements held in the typed repeated fields (ONNX's rules for which field holds which type); nullopt for
// unknown types.
std::optional<uint64_t> typed_field_elements(const TensorProto& t) {
  switch (t.data_type()) {
    case TensorProto::FLOAT: return t.float_data_size();
    case TensorProto::COMPLEX64: return t.float_data_size() / 2;
    case TensorProto::DOUBLE: return t.double_data_size();
    case TensorProto::COMPLEX128: return t.double_data_size() / 2;
    case TensorProto::INT64: return t.int64_data_size();
    case TensorProto::UINT32: case TensorProto::UINT64: return t.uint64_data_size();
    case TensorProto::STRING: return t.string_data_size();
    case TensorProto::INT32: case TensorProto::INT16: case TensorProto::INT8: case TensorProto::UINT16:
    case TensorProto::UINT8: case TensorProto::BOOL: case TensorProto::FLOAT16: case TensorProto::BFLOAT16:
    case 17: case 18: case 19: case 20:
      return t.int32_data_size();
    default: return std::nullopt;
  }
}

std::string dims_text(const TensorProto& t) {
  std::string s = "[";
  for (int i = 0; i < t.dims_size(); ++i) s += (i ? "," : "") + std::to_string(t.dims(i));
  return s + "]";
}

}  // namespace

void check_tensor_data(const TensorProto& t, const std::string& where) {
  // Deferred external data carries its checked length; anything else EXTERNAL was never loaded.
  const std::optional<uint64_t> external = deferred_bytes(t);
  if (t.data_location() == TensorProto::EXTERNAL && !external) throw LoadError(where + ": external data was not loaded");
  if (t.has_segment()) return;  // one piece of a tensor split over several protos: no total to compare
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  uint64_t declared = 1;
  for (int64_t d : t.dims()) {
    if (d < 0) throw LoadError(where + ": shape " + dims_text(t) + " has a negative dimension");
    if (d != 0 && declared > kMax / static_cast<uint64_t>(d))
      throw LoadError(where + ": shape " + dims_text(t) + " has more elements than fit in memory");
    declared *= static_cast<uint64_t>(d);
  }
  if (t.has_raw_data() || external) {
    const uint64_t held = external ? *external : t.raw_data().size();
    uint64_t needed = 0;
    if (is_4bit(t.data_type())) {
      needed = declared / 2 + declared % 2;
    } else if (auto es = raw_element_bytes(t.data_type())) {
      if (declared > kMax / *es) throw LoadError(where + ": shape " + dims_text(t) + " has more bytes than fit in memory");
      needed = declared * *es;
    } else {
      return;
    }
    if (held != needed)
      throw LoadError(where + ": shape " + dims_text(t) + " needs " + std::to_string(needed) + " bytes of data, the file holds " +
                      std::to_string(held));
    return;
  }
  const auto stored = typed_field_elements(t);
  if (!stored && !is_4bit(t.data_type())) return;
  // 4-bit values are packed two per int32_data entry.
  const uint64_t held = stored ? *stored : static_cast<uint64_t>(t.int32_data_size());
  const uint64_t needed = is_4bit(t.data_type()) ? declared / 2 + declared % 2 : declared;
  if (held != needed)
    throw LoadError(where + ": shape " + dims_text(t) + " declares " + std::to_string(declared) + " elements, the file holds " +
                    std::to_string(held));
}

void check_all_tensor_data(const onnx::GraphProto& graph, const std::string& origin) {
  for_each_graph(graph, [&](const onnx::GraphProto& g) {
    for (const auto& t : g.initializer()) check_tensor_data(t, origin + ": initializer '" + t.name() + "'");
    for (const auto& node : g.node())
      for (const auto& attr : node.attribute()) {
        const std::string where = origin + ": attribute '" + attr.name() + "' of node '" + node.name() + "' (" + node.op_type() + ")";
        if (attr.has_t()) check_tensor_data(attr.t(), where);
        for (const auto& t : attr.tensors()) check_tensor_data(t, where);
      }
  });
}

}  // namespace onnxquant
