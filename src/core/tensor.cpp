#include "core/tensor.h"

#include <limits>

#include "core/errors.h"
#include "core/half.h"

namespace onnxquant {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32: case DType::Int32: case DType::UInt32: return 4;
    case DType::UInt8: case DType::Int8: case DType::Bool: return 1;
    case DType::UInt16: case DType::Int16: case DType::Float16: case DType::BFloat16: return 2;
    case DType::Int64: case DType::Float64: case DType::UInt64: return 8;
    default: return 0;
  }
}

std::string dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::UInt8: return "uint8";
    case DType::Int8: return "int8";
    case DType::UInt16: return "uint16";
    case DType::Int16: return "int16";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::String: return "string";
    case DType::Bool: return "bool";
    case DType::Float16: return "float16";
    case DType::Float64: return "float64";
    case DType::UInt32: return "uint32";
    case DType::UInt64: return "uint64";
    case DType::BFloat16: return "bfloat16";
    case DType::UInt4: return "uint4";
    case DType::Int4: return "int4";
    case DType::Undefined: return "undefined";
  }
  return "type" + std::to_string(static_cast<int>(t));
}

DType dtype_from_onnx(int32_t v) {
  switch (v) {
    case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 8: case 9: case 10: case 11: case 12:
    case 13: case 16: case 21: case 22:
      return static_cast<DType>(v);
    default: return DType::Undefined;
  }
}

bool dtype_is_float(DType t) {
  return t == DType::Float32 || t == DType::Float16 || t == DType::Float64 || t == DType::BFloat16;
}

int64_t element_count(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw DataError("negative or symbolic dimension in shape " + shape_string(shape));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      throw DataError("shape " + shape_string(shape) + " has too many elements");
    n *= d;
  }
  return n;
}

std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

uint64_t byte_count(DType dtype, const Shape& shape) {
  const uint64_t n = static_cast<uint64_t>(element_count(shape));
  const uint64_t es = dtype_size(dtype);
  if (es != 0 && n > std::numeric_limits<uint64_t>::max() / es)
    throw DataError(dtype_name(dtype) + " shape " + shape_string(shape) + " has more bytes than fit in memory");
  return n * es;
}

Tensor::Tensor(DType t, Shape s) : dtype(t), shape(std::move(s)) {
  if (dtype_size(t) == 0) throw DataError("cannot allocate a tensor of type " + dtype_name(t));
  const uint64_t size = byte_count(t, shape);
  if (size > bytes.max_size()) throw DataError(dtype_name(t) + " shape " + shape_string(shape) + " is too large to allocate");
  bytes.resize(static_cast<size_t>(size));
}

template <typename T>
static void widen(std::span<const T> src, std::vector<double>& out) {
  out.reserve(src.size());
  for (T v : src) out.push_back(static_cast<double>(v));
}

std::vector<double> Tensor::to_doubles() const {
  std::vector<double> out;
  switch (dtype) {
    case DType::Float32: widen(as<float>(), out); break;
    case DType::Float64: widen(as<double>(), out); break;
    case DType::Int8: widen(as<int8_t>(), out); break;
    case DType::UInt8: case DType::Bool: widen(as<uint8_t>(), out); break;
    case DType::Int16: widen(as<int16_t>(), out); break;
    case DType::UInt16: widen(as<uint16_t>(), out); break;
    case DType::Int32: widen(as<int32_t>(), out); break;
    case DType::UInt32: widen(as<uint32_t>(), out); break;
    case DType::Int64: widen(as<int64_t>(), out); break;
    case DType::UInt64: widen(as<uint64_t>(), out); break;
    case DType::Float16:
      out.reserve(bytes.size() / 2);
      for (uint16_t h : as<uint16_t>()) out.push_back(half_to_float(h));
      break;
    case DType::BFloat16:
      out.reserve(bytes.size() / 2);
      for (uint16_t h : as<uint16_t>()) out.push_back(bfloat16_to_float(h));
      break;
    default: throw DataError("cannot read values of a " + dtype_name(dtype) + " tensor");
  }
  return out;
}

}  // namespace onnxquant
