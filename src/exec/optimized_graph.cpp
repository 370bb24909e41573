#include "exec/optimized_graph.h"

#include <filesystem>
#include <random>

#include "core/errors.h"
#include "ir/model.h"

namespace onnxquant {
namespace fs = std::filesystem;

namespace {
// A private temp folder removed on scope exit, so concurrent runs never share files.
struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("onnxquant-opt-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};
}  // namespace

Model optimized_graph(const Model& model, ExecOptions options) {
  TempDir dir;
  options.optimized_model_path = dir.path / "optimized.onnx";
  { Executor session(model, options); }
  if (!fs::exists(options.optimized_model_path)) throw RuntimeError("ONNX Runtime did not write its optimized graph");
  LoadOptions lo;
  lo.allow_external_data_outside_model_dir = false;
  return Model::load(options.optimized_model_path, lo);
}

}  // namespace onnxquant
