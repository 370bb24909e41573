// Runs a model for calibration in segments, so that only one segment's activations are alive at a time.
//
// ORT keeps every output of a run alive until the run returns, and calibration exposes nearly every
// activation as an output: one run of PP-OCRv4 det at 640x640 returns about 690 MB. Cut into
// consecutive groups of nodes (in topological order) whose exposed outputs fit a byte budget, each group
// run as a model of its own (rewrite/extract_segment.h), the peak is one segment's outputs plus the
// tensors that cross segment boundaries. A model whose exposed tensors fit the budget is one segment:
// exactly the single exposed run. Sizes are estimated by shape inference with the first sample's input
// shapes; a tensor whose size stays unknown counts as large as the largest known one.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "exec/executor.h"

namespace onnxquant {

class Model;

struct SegmentInfo {
  int nodes = 0;
  int exposed = 0;                // exposed tensors it computes
  int64_t estimated_bytes = 0;    // their estimated size for the first sample's shapes
};

class SegmentedRunner {
 public:
  // `model` is consumed (shape inference runs on it). `exposed`: tensors produced by nodes of the main
  // graph to hand out. `first_sample` fixes the shapes used to estimate sizes. Sessions use
  // MemoryPolicy::Lean. Throws RuntimeError when ORT refuses a segment.
  SegmentedRunner(Model model, const std::vector<std::string>& exposed, const NamedTensors& first_sample, const ExecOptions& exec,
                  int64_t budget_bytes);
  SegmentedRunner(SegmentedRunner&&) noexcept;
  ~SegmentedRunner();

  const std::vector<SegmentInfo>& segments() const;
  // The exposed tensors ORT computes as float32, in segment order: what deliver() hands out.
  const std::vector<std::string>& float_outputs() const;

  // Runs segment `s` (0, 1, ... in order for each sample; start with `live` = the sample's inputs).
  // Moves the segment's inputs out of `live`, puts back the ones a later segment reads and adds the
  // outputs later segments read, so `live` never holds more than the boundary tensors. Returns the
  // segment's float32 exposed tensors, in ORT's buffers; `ort_seconds` grows by the time spent inside ORT.
  NamedOutputs run_segment(size_t s, NamedTensors& live, double& ort_seconds);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace onnxquant
