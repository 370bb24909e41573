// Runs models in ONNX Runtime. exec/ is the only part of onnxquant that includes ORT headers; this
// header does not, so everything else stays quick to compile and independent of the runtime's API.
#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace onnxquant {

class Model;

enum class GraphOptimization { Disabled, Basic, Extended, All };

// ORT's CPU arena keeps freed blocks for reuse, and its memory pattern pre-plans one block for every
// intermediate tensor of a run: fastest for repeated runs of the same shapes, but both hold the peak.
// Lean gives memory back after each run (calibration, where outputs are large and many).
enum class MemoryPolicy { Arena, Lean };

struct ExecOptions {
  int intra_op_threads = 1;  // 0 lets ORT choose (all cores)
  GraphOptimization optimization = GraphOptimization::All;
  MemoryPolicy memory = MemoryPolicy::Arena;
  // ORT's worker threads busy-wait between ops (ORT's default: lowest latency on an otherwise idle core).
  // Off when other threads of ours need the cores meanwhile (calibration observes beside inference):
  // spinning workers then steal their time, and on a busy machine both run at half speed.
  bool spin_wait = true;
  // When set, ORT saves the graph it actually runs (after fusions) to this file.
  std::filesystem::path optimized_model_path;
};

// An output read where ORT put it, without a copy: calibration reads tens of MB of activations per run,
// and copying them cost as much as observing them (resnet50: 0.65 s per 100 samples; PP-OCRv4 det: a
// third of the whole run). The memory stays valid while this view (or a copy of it) lives; the last one
// gives it back to ORT's allocator.
struct OutputView {
  DType dtype = DType::Undefined;
  Shape shape;
  std::span<const std::byte> bytes;
  std::shared_ptr<const void> owner;

  template <typename T> std::span<const T> as() const {
    return {reinterpret_cast<const T*>(bytes.data()), bytes.size() / sizeof(T)};
  }
  Tensor copy() const;
  // A view that owns `t` (for tensors that did not come from ORT, such as graph inputs).
  static OutputView holding(Tensor t);
};

using NamedOutputs = std::map<std::string, OutputView>;

// One model input or output as ORT sees it; symbolic or unknown dims are -1 with their name kept.
struct IoInfo {
  std::string name;
  DType dtype = DType::Undefined;
  std::vector<int64_t> shape;
  std::vector<std::string> dim_names;  // symbolic names, "" for fixed or unnamed dims
};

class Executor {
 public:
  // Creates an ORT session. Throws RuntimeError with ORT's message when ORT refuses the model.
  Executor(const Model& model, const ExecOptions& options = {});
  // The same for a model no longer needed: a big one is written to the session's temp file and freed
  // before ORT reads it, so that our copy of the weights and ORT's are not held at once.
  Executor(Model&& model, const ExecOptions& options = {});
  Executor(const std::filesystem::path& model_file, const ExecOptions& options = {});
  Executor(Executor&&) noexcept;
  Executor& operator=(Executor&&) noexcept;
  ~Executor();

  const std::vector<IoInfo>& inputs() const;
  const std::vector<IoInfo>& outputs() const;
  double session_create_ms() const;

  // Runs on named inputs; `output_names` empty means every model output. Inputs are checked against the
  // model (names, dtype, rank, fixed dims) first: a mismatch is a DataError naming the input.
  NamedTensors run(const NamedTensors& inputs, const std::vector<std::string>& output_names = {});
  // The same run, outputs left in ORT's buffers (see OutputView).
  NamedOutputs run_in_place(const NamedTensors& inputs, const std::vector<std::string>& output_names = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A session of `model`, which is `file` as loaded and not edited since. When the file keeps its weights in
// external data (the model's are deferred), ORT reads them from there itself: no temp copy, and none in
// our memory. Otherwise the same as Executor(model).
Executor open_loaded_model(const Model& model, const std::filesystem::path& file, const ExecOptions& options = {});

// "1.30.0": the version of the loaded libonnxruntime, not of the headers.
std::string runtime_version();

}  // namespace onnxquant
