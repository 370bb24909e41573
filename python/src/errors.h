// onnxquant's typed errors as Python exceptions: onnxquant.Error and one subclass per ErrorKind
// (onnxquant.LoadError, ...), each carrying the message the CLI prints, the CLI's exit code and the hint.
#pragma once
#include <pybind11/pybind11.h>

namespace onnxquant::python {

// Creates the exception classes in `module` and registers the translator of onnxquant::Error.
void register_errors(pybind11::module_& module);

}  // namespace onnxquant::python
