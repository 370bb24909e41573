#include "ir/tensor_proto.h"

#include <onnx/onnx_pb.h>

#include <cstring>

#include "core/errors.h"

namespace onnxquant {

namespace {

template <typename Dst, typename Src>
void copy_field(const Src& field, Tensor& t) {
  auto out = t.as<Dst>();
  for (int i = 0; i < field.size(); ++i) out[i] = static_cast<Dst>(field.Get(i));
}

}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& p) {
  const std::string where = "tensor '" + p.name() + "'";
  const DType dt = dtype_from_onnx(p.data_type());
  if (dt == DType::Undefined || dt == DType::String || dtype_size(dt) == 0)
    throw DataError(where + ": element type " + std::to_string(p.data_type()) + " cannot be read as numbers");
  if (p.data_location() == onnx::TensorProto::EXTERNAL) throw DataError(where + ": external data not loaded");
  Shape shape(p.dims().begin(), p.dims().end());
  const int64_t n = element_count(shape);
  if (p.has_raw_data()) {
    const uint64_t needed = byte_count(dt, shape);
    if (p.raw_data().size() != needed)
      throw DataError(where + ": raw data has " + std::to_string(p.raw_data().size()) + " bytes, shape " +
                      shape_string(shape) + " needs " + std::to_string(needed));
    Tensor t(dt, shape);
    if (!t.bytes.empty()) std::memcpy(t.bytes.data(), p.raw_data().data(), t.bytes.size());  // empty: data() may be null
    return t;
  }
  auto count_mismatch = [&](int have) {
    throw DataError(where + ": has " + std::to_string(have) + " values, shape " + shape_string(shape) + " needs " + std::to_string(n));
  };
  Tensor t;
  switch (dt) {
    case DType::Float32:
      if (p.float_data_size() != n) count_mismatch(p.float_data_size());
      t = Tensor(dt, shape); copy_field<float>(p.float_data(), t); break;
    case DType::Float64:
      if (p.double_data_size() != n) count_mismatch(p.double_data_size());
      t = Tensor(dt, shape); copy_field<double>(p.double_data(), t); break;
    case DType::Int64:
      if (p.int64_data_size() != n) count_mismatch(p.int64_data_size());
      t = Tensor(dt, shape); copy_field<int64_t>(p.int64_data(), t); break;
    case DType::UInt32: case DType::UInt64:
      if (p.uint64_data_size() != n) count_mismatch(p.uint64_data_size());
      t = Tensor(dt, shape);
      if (dt == DType::UInt32) copy_field<uint32_t>(p.uint64_data(), t); else copy_field<uint64_t>(p.uint64_data(), t);
      break;
    case DType::Int32: case DType::Int16: case DType::Int8: case DType::UInt16: case DType::UInt8: case DType::Bool:
    case DType::Float16: case DType::BFloat16:
      // These live in int32_data, one value (or 16-bit pattern) per entry.
      if (p.int32_data_size() != n) count_mismatch(p.int32_data_size());
      t = Tensor(dt, shape);
      switch (dtype_size(dt)) {
        case 1: copy_field<uint8_t>(p.int32_data(), t); break;
        case 2: copy_field<uint16_t>(p.int32_data(), t); break;
        default: copy_field<int32_t>(p.int32_data(), t); break;
      }
      break;
    default: throw DataError(where + ": unsupported element type " + dtype_name(dt));
  }
  return t;
}

void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto& p) {
  // Clear() keeps a string's buffer for reuse: a float16 weight written over its float32 one would sit
  // in the float32 buffer, and a 2 GB model converted in place would hold all of its float32 memory.
  std::string().swap(*p.mutable_raw_data());
  p.Clear();
  p.set_name(name);
  p.set_data_type(static_cast<int32_t>(t.dtype));
  for (int64_t d : t.shape) p.add_dims(d);
  p.set_raw_data(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
}

}  // namespace onnxquant
