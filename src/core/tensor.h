// A host tensor: element type, shape and bytes. The exchange type between data readers (.npy, images),
// the executor and the analysis code; it knows nothing about protobuf or ONNX Runtime.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace onnxquant {

// Values follow onnx::TensorProto::DataType so conversions are a cast.
enum class DType : int32_t {
  Undefined = 0,
  Float32 = 1,
  UInt8 = 2,
  Int8 = 3,
  UInt16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  String = 8,
  Bool = 9,
  Float16 = 10,
  Float64 = 11,
  UInt32 = 12,
  UInt64 = 13,
  BFloat16 = 16,
  UInt4 = 21,
  Int4 = 22,
};

// Bytes per element; 0 for types without a fixed size (string, undefined, 4-bit types).
size_t dtype_size(DType t);
std::string dtype_name(DType t);  // "float32", "int64", ...
DType dtype_from_onnx(int32_t onnx_type);  // unknown values map to Undefined
bool dtype_is_float(DType t);              // float16/32/64, bfloat16

using Shape = std::vector<int64_t>;
int64_t element_count(const Shape& shape);  // product of dims; throws DataError on overflow or negatives
// Bytes a tensor of this type and shape takes: element_count times the element size, checked, so that a
// hostile shape cannot wrap around to a small number that then matches a small file. Throws DataError.
uint64_t byte_count(DType dtype, const Shape& shape);
std::string shape_string(const Shape& shape);  // "[1,3,224,224]"

struct Tensor {
  DType dtype = DType::Undefined;
  Shape shape;
  std::vector<std::byte> bytes;

  Tensor() = default;
  Tensor(DType t, Shape s);  // zero-filled

  int64_t elements() const { return element_count(shape); }
  template <typename T> std::span<T> as() { return {reinterpret_cast<T*>(bytes.data()), bytes.size() / sizeof(T)}; }
  template <typename T> std::span<const T> as() const {
    return {reinterpret_cast<const T*>(bytes.data()), bytes.size() / sizeof(T)};
  }
  // Values widened to double, for comparisons and statistics (float16/bf16/ints included).
  std::vector<double> to_doubles() const;
};

using NamedTensors = std::map<std::string, Tensor>;

}  // namespace onnxquant
