#include "exec/optimized_graph.h"

#include <filesystem>

#include "core/errors.h"
#include "core/temp_dir.h"
#include "ir/model.h"

namespace onnxquant {
namespace fs = std::filesystem;


Model optimized_graph(const Model& model, ExecOptions options) {
  TempDir dir("onnxquant-opt");
  options.optimized_model_path = dir / "optimized.onnx";
  { Executor session(model, options); }
  if (!fs::exists(options.optimized_model_path)) throw RuntimeError("ONNX Runtime did not write its optimized graph");
  LoadOptions lo;
  lo.allow_external_data_outside_model_dir = false;
  return Model::load(options.optimized_model_path, lo);
}

}  // namespace onnxquant
