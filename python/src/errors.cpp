#include "errors.h"

#include <map>
#include <string>

#include "core/errors.h"

namespace py = pybind11;

namespace onnxquant::python {

namespace {

// Python class names follow the C++ class names of core/errors.h, so the docs of one describe the other.
const std::map<ErrorKind, const char*> kClassNames{
    {ErrorKind::Usage, "UsageError"},           {ErrorKind::Load, "LoadError"},
    {ErrorKind::Unsupported, "UnsupportedOpError"}, {ErrorKind::Data, "DataError"},
    {ErrorKind::Runtime, "RuntimeError"},       {ErrorKind::Io, "IoError"},
    {ErrorKind::Calibration, "CalibrationError"}, {ErrorKind::Verification, "VerificationError"},
    {ErrorKind::Internal, "InternalError"},
};

// The classes live as long as the interpreter: the module keeps a reference, and so does this map
// (the translator runs without access to the module object).
std::map<ErrorKind, PyObject*>& classes() {
  static std::map<ErrorKind, PyObject*> by_kind;
  return by_kind;
}

void raise_python_error(const Error& e) {
  PyObject* cls = classes().at(e.kind());
  py::object exc = py::reinterpret_borrow<py::object>(cls)(py::str(e.what()));
  exc.attr("kind") = error_kind_name(e.kind());
  exc.attr("exit_code") = e.exit_code();
  exc.attr("hint") = e.hint();
  PyErr_SetObject(cls, exc.ptr());
}

}  // namespace

void register_errors(py::module_& module) {
  const std::string prefix = "onnxquant.";
  PyObject* base = PyErr_NewExceptionWithDoc((prefix + "Error").c_str(),
                                             "Every onnxquant failure: .kind, .exit_code (the CLI's exit code) and .hint", PyExc_Exception, nullptr);
  module.add_object("Error", py::reinterpret_steal<py::object>(base));
  for (const auto& [kind, name] : kClassNames) {
    PyObject* cls = PyErr_NewException((prefix + name).c_str(), base, nullptr);
    module.add_object(name, py::reinterpret_steal<py::object>(cls));
    classes()[kind] = cls;
  }
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      raise_python_error(e);
    }
  });
}

}  // namespace onnxquant::python
