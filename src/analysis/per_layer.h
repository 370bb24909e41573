// Per-layer error: where a candidate model (quantized, cast) departs from its FP32 reference. Every
// intermediate tensor both graphs produce under the same name (quantization and casting keep names) is
// exposed as an extra output (rewrite/expose_tensors), both models run on the same samples, and each
// tensor's error is accumulated with CompareAccumulator, streaming: one sample's tensors at a time.
//
// In a QDQ candidate a shared tensor T is usually followed by QuantizeLinear; what the next layer really
// reads is DQ(Q(T)). Exposing T itself would also stop ORT from fusing T's producer into an integer kernel
// (a fused node's float output does not exist), so the error measured would not be the one that runs.
// Instead the Q's integer output is exposed and dequantized here with the Q's scale and zero point. Other
// tensors are exposed as they are, which may keep ORT from folding a Relu into the kernel before it; the
// values differ by requantization rounding at most.
//
// Accumulated error grows along the graph, so "lowest SQNR" mostly names the last layers. The ranking is
// by the error a layer *adds*: its noise-to-signal ratio (NSR = 10^(-SQNR/10)) minus the worst NSR of the
// tensors it reads, reported as `local_sqnr_db` = -10 log10(added NSR), the SQNR the layer would have with
// exact inputs if errors add independently. Worst (lowest local SQNR) first.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "analysis/compare.h"
#include "exec/executor.h"

namespace onnxquant {

class Model;

enum class LayerProbe {
  Direct,     // the tensor itself was exposed in the candidate
  Quantized,  // the candidate's QuantizeLinear output was exposed and dequantized on the host
};
const char* layer_probe_name(LayerProbe probe);  // "direct", "quantized"

struct LayerError {
  std::string tensor;     // shared tensor name
  std::string node;       // its producer in the reference model
  std::string op_type;    // qualified op type of that producer
  int position = 0;       // index among the shared tensors, in the reference's topological order (0 = first)
  LayerProbe probe = LayerProbe::Direct;
  CompareStats stats;     // accumulated over all samples
  double local_sqnr_db = 0;  // +inf when the layer adds no error
};

class PerLayerComparison {
 public:
  // Builds both exposed models and their sessions. Throws RuntimeError when ORT refuses either.
  PerLayerComparison(const Model& reference, const Model& candidate, const ExecOptions& exec);
  PerLayerComparison(PerLayerComparison&&) noexcept;
  ~PerLayerComparison();

  // Runs one sample through both (each gets its own feeds: the candidate may take other input dtypes).
  void add(const NamedTensors& reference_inputs, const NamedTensors& candidate_inputs);

  // Tensors compared so far, worst first (see top of file). Tensors that were never comparable
  // (integer, or of different shapes in the two models) are left out.
  std::vector<LayerError> result() const;
  int shared_tensors() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Puts layers in ranking order: local SQNR ascending, then accumulated SQNR, then graph position.
void rank_layers(std::vector<LayerError>& layers);

}  // namespace onnxquant
