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
  // The model goes to a file in the same folder, weights as external data (so ORT reads each tensor
  // once, see Executor). ORT's optimized graph keeps pointing at that data file by its relative name for
  // the initializers it did not change, so it must be read back from here, before the folder goes.
  model.save(dir / "model.onnx", {ExternalData::Always});
  { Executor session(dir / "model.onnx", options); }
  if (!fs::exists(options.optimized_model_path)) throw RuntimeError("ONNX Runtime did not write its optimized graph");
  LoadOptions lo;
  lo.allow_external_data_outside_model_dir = false;
  return Model::load(options.optimized_model_path, lo);
}

}  // namespace onnxquant
