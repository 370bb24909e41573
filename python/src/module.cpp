// onnxquant._native: the engine for the Python package (python/onnxquant/). It exposes few entry
// points on purpose: `run` parses and runs any command with the CLI's own option table (so Python and
// the CLI share names, checks and defaults), `model_inputs` lets Python cut arrays into samples, and
// `Ranges` wraps the ranges file. Long work runs without the GIL; it is taken back only to pull the
// next calibration sample from a Python iterator.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "calib/ranges_file.h"
#include "command_runner.h"
#include "core/errors.h"
#include "core/version.h"
#include "errors.h"
#include "io/model_inputs.h"
#include "ir/model.h"
#include "numpy_tensors.h"

namespace py = pybind11;
using namespace onnxquant;

namespace {

// Pulls samples from a Python iterator of dicts. `iterator` is borrowed: the caller of run() holds it for
// the whole call, and the provider copies only the raw pointer, because the request that carries it is
// copied around without the GIL (copying a py::object there would touch a reference count unlocked).
SampleProvider provider_from_iterator(PyObject* iterator, int64_t count) {
  SampleProvider provider;
  provider.count = count;
  provider.next = [iterator]() -> std::optional<NamedTensors> {
    py::gil_scoped_acquire gil;
    PyObject* item = PyIter_Next(iterator);
    if (!item) {
      if (PyErr_Occurred()) throw py::error_already_set();  // the user's data loader failed: re-raised as is
      return std::nullopt;
    }
    const py::object sample = py::reinterpret_steal<py::object>(item);
    return python::sample_from_dict(sample);
  };
  return provider;
}

py::tuple run(const std::vector<std::string>& args, const py::object& samples, int64_t count) {
  SampleProvider provider;
  py::object iterator;
  if (!samples.is_none()) {
    iterator = py::iter(samples);
    provider = provider_from_iterator(iterator.ptr(), count);
  }
  python::CommandOutput out;
  {
    py::gil_scoped_release release;
    out = python::run_command(args, provider);
  }
  return py::make_tuple(out.exit_code, py::bytes(out.stdout_text));
}

py::list model_inputs(const std::filesystem::path& model_path) {
  py::list result;
  std::vector<IoInfo> inputs;
  {
    py::gil_scoped_release release;
    inputs = declared_inputs(Model::load(model_path));
  }
  for (const auto& in : inputs) {
    py::dict d;
    d["name"] = in.name;
    d["dtype"] = dtype_name(in.dtype);
    d["shape"] = in.shape;  // -1 for a dynamic dim
    d["dim_names"] = in.dim_names;
    result.append(d);
  }
  return result;
}

bool has_histograms(const RangesFile& file) {
  if (file.tensors.empty()) return false;
  for (const auto& [name, t] : file.tensors)
    if (!t.observer) return false;
  return true;
}

void bind_ranges(py::module_& m) {
  py::class_<RangesFile>(m, "RangesFile", "A ranges file (calib/ranges_file.h): calibration's product")
      .def_static("load", [](const std::filesystem::path& path) { return load_ranges(path); }, py::arg("path"))
      .def(
          "save",
          [](const RangesFile& file, const std::filesystem::path& path, bool histograms) {
            if (histograms && !has_histograms(file))
              throw CalibrationError("these ranges have no histograms to save", "calibrate with histograms=True");
            save_ranges(path, file, {histograms ? HistogramOutput::Include : HistogramOutput::Omit});
          },
          py::arg("path"), py::arg("histograms"))
      .def("to_json", [](const RangesFile& file, bool histograms) {
            return ranges_to_json(file, {histograms ? HistogramOutput::Include : HistogramOutput::Omit}).dump();
          }, py::arg("histograms"))
      .def_property_readonly("has_histograms", &has_histograms)
      .def_readonly("model_file", &RangesFile::model_file)
      .def_readonly("model_sha256", &RangesFile::model_sha256)
      .def_readonly("samples", &RangesFile::samples)
      .def_property_readonly("method", [](const RangesFile& f) { return method_name(f.method.method); })
      .def_property_readonly("target", [](const RangesFile& f) { return target_name(f.method.target); })
      .def("ranges", [](const RangesFile& f) {
        std::map<std::string, std::pair<double, double>> out;
        for (const auto& [name, r] : f.ranges()) out.emplace(name, std::make_pair(r.min, r.max));
        return out;
      });
}

}  // namespace

PYBIND11_MODULE(_native, m) {
  m.doc() = "onnxquant's engine (use the onnxquant package, not this module)";
  m.attr("__version__") = ONNXQ_VERSION;
  python::register_errors(m);
  m.def("run", &run, py::arg("args"), py::arg("samples") = py::none(), py::arg("count") = -1,
        "Run `onnxquant ARGS...` in this process; returns (exit code, standard output as bytes)");
  m.def("model_inputs", &model_inputs, py::arg("model"), "The model's declared inputs: name, dtype, shape (-1 dynamic)");
  bind_ranges(m);
}
