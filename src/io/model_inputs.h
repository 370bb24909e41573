// Inputs for running a model: from .npy / .npz files or synthetic, matched against the model's declared
// inputs (names, dtypes, ranks, fixed dims) before anything runs. A source yields one sample at a time
// (a map from input name to tensor), reading files row by row, so large stacks never load whole.
//
// How files become samples: a .npy for input X (`X=path.npy`, or just `path.npy` when the model has one
// input) whose rank equals X's rank is cut along axis 0 into batches of the model's batch size (the fixed
// first dim, else the --dim value of its symbolic name, else 1); one rank higher, it is a stack whose
// axis 0 counts samples. A .npz supplies every input named by its keys, cut the same way.
// Synthetic samples fill what no file gives: float inputs get values in the range of normalized images
// (N(0,1) clipped to [-2.5, 2.5]), integer inputs small non-negative integers, bool inputs false;
// --input-value NAME=v1,v2,... fills an input with exactly those values (repeated to the shape).
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "exec/executor.h"

namespace onnxquant {

struct InputOptions {
  std::vector<std::string> files;                     // "NAME=path.npy", "path.npy", "path.npz"
  std::map<std::string, Shape> shapes;                // --input-shape NAME=1,3,640,640
  std::map<std::string, int64_t> dims;                // --dim batch=1 (symbolic dim name -> value)
  std::map<std::string, std::vector<double>> values;  // --input-value NAME=1.0,1.0
  int64_t max_samples = 0;                            // 0: every sample the files hold (1 when synthetic)
  uint32_t seed = 0;
};

// Size used for a symbolic or unknown spatial dim of a synthetic input when nothing says otherwise.
inline constexpr int64_t kDefaultSyntheticDim = 224;

class InputSource {
 public:
  InputSource(const std::vector<IoInfo>& model_inputs, const InputOptions& options);
  InputSource(InputSource&&) noexcept;
  ~InputSource();
  // The next sample, or nullopt when the data is exhausted (or max_samples reached).
  std::optional<NamedTensors> next();
  // Number of samples this source will yield.
  int64_t size() const;
  // Restart from the first sample (same synthetic values for the same seed).
  void rewind();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Convenience: all samples of a source (use for small counts; stream with InputSource otherwise).
std::vector<NamedTensors> load_model_inputs(const std::vector<IoInfo>& model_inputs, const InputOptions& options);

// Parses "NAME=1,3,224,224" / "batch=1" / "NAME=1.0,2.5" forms used by the CLI; throws UsageError.
std::pair<std::string, Shape> parse_shape_assignment(const std::string& text);
std::pair<std::string, int64_t> parse_dim_assignment(const std::string& text);
std::pair<std::string, std::vector<double>> parse_value_assignment(const std::string& text);

}  // namespace onnxquant
