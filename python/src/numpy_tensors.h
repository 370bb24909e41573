// NumPy arrays to onnxquant::Tensor, for calibration samples given in memory. The arrays are copied
// (the engine works on its own buffers in other threads while Python runs on).
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "core/tensor.h"

namespace onnxquant::python {

// float32/float16/float64, int64/int32/int8, uint8 and bool arrays, C-contiguous and in native byte order.
// Throws DataError naming `name` for anything else.
Tensor tensor_from_array(const std::string& name, const pybind11::array& array);

// One sample: a dict {input name: array}. Throws DataError when it is not one.
NamedTensors sample_from_dict(const pybind11::handle& sample);

}  // namespace onnxquant::python
