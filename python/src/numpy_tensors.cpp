#include "numpy_tensors.h"

#include <cstring>

#include "core/errors.h"

namespace py = pybind11;

namespace onnxquant::python {

namespace {

DType dtype_of(const py::dtype& d) {
  const char kind = d.kind();
  const auto size = d.itemsize();
  if (kind == 'f' && size == 4) return DType::Float32;
  if (kind == 'f' && size == 2) return DType::Float16;
  if (kind == 'f' && size == 8) return DType::Float64;
  if (kind == 'i' && size == 8) return DType::Int64;
  if (kind == 'i' && size == 4) return DType::Int32;
  if (kind == 'i' && size == 1) return DType::Int8;
  if (kind == 'u' && size == 1) return DType::UInt8;
  if (kind == 'b' && size == 1) return DType::Bool;
  return DType::Undefined;
}

bool native_byte_order(const py::dtype& d) {
  const char order = d.byteorder();
  return order == '=' || order == '|' || (order == '<') == (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__);
}

}  // namespace

Tensor tensor_from_array(const std::string& name, const py::array& array) {
  const DType dtype = dtype_of(array.dtype());
  if (dtype == DType::Undefined)
    throw DataError("input '" + name + "': NumPy dtype " + py::str(array.dtype()).cast<std::string>() + " is not supported",
                    "use float32, float16, float64, int64, int32, int8, uint8 or bool");
  if (!native_byte_order(array.dtype())) throw DataError("input '" + name + "': the array is not in native byte order", "use array.astype(array.dtype.newbyteorder('='))");
  if (!(array.flags() & py::array::c_style)) throw DataError("input '" + name + "': the array is not C-contiguous", "use numpy.ascontiguousarray(array)");
  Tensor t;
  t.dtype = dtype;
  t.shape.assign(array.shape(), array.shape() + array.ndim());
  t.bytes.resize(static_cast<size_t>(array.nbytes()));
  if (!t.bytes.empty()) std::memcpy(t.bytes.data(), array.data(), t.bytes.size());
  return t;
}

NamedTensors sample_from_dict(const py::handle& sample) {
  if (!py::isinstance<py::dict>(sample))
    throw DataError("a calibration sample must be a dict {input name: numpy array}, got " + py::str(sample.get_type()).cast<std::string>());
  NamedTensors tensors;
  for (const auto& [key, value] : sample.cast<py::dict>()) {
    const std::string name = py::str(key);
    if (!py::isinstance<py::array>(value)) throw DataError("input '" + name + "': expected a numpy array, got " + py::str(value.get_type()).cast<std::string>());
    tensors.emplace(name, tensor_from_array(name, value.cast<py::array>()));
  }
  return tensors;
}

}  // namespace onnxquant::python
