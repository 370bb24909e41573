// `onnxquant cast`: an FP32 model to float16 / bfloat16 (rewrite/cast_precision.h has the rules), proven
// on ONNX Runtime: the result must pass the ONNX checker, load and run in ORT, and is compared with the
// original on the given samples (cosine, SQNR, max error) and timed against it (interleaved runs). The
// output file is written only when all of that succeeded.
//
// JSON (`to_json`, printed by `onnxquant cast --format json`): docs/json-output.md, section `cast`.
#pragma once
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "analysis/compare.h"
#include "exec/executor.h"
#include "exec/latency.h"
#include "io/model_inputs.h"
#include "rewrite/cast_precision.h"

namespace onnxquant {

enum class CastCompute {
  Auto,         // half compute; if ORT refuses it (bfloat16 on the CPU EP), half weights + float32 compute
  Half,         // half compute or fail
  WeightsOnly,  // half weights, float32 compute
};

struct CastRequest {
  std::filesystem::path input;
  std::filesystem::path output;  // empty: verify and report, write nothing
  HalfType precision = HalfType::Float16;
  bool keep_io_types = true;     // false: graph inputs/outputs become half as well
  CastCompute compute = CastCompute::Auto;
  // Verification inputs for the original model (float32). When empty they come from `inputs` (files, or
  // one synthetic sample when it names none), matched against the model's inputs.
  std::vector<NamedTensors> samples;
  InputOptions inputs;
  ExecOptions exec;  // 1 intra-op thread unless set
  LatencyOptions latency{.warmup = 3, .runs = 20};  // runs = 0: no timing
  double min_cosine = 0;  // > 0: fail (VerificationError, nothing written) below this cosine
};

struct OutputAgreement {
  std::string name;
  CompareStats stats;
};

struct CastResult {
  std::string input, output;
  bool written = false;
  HalfType precision = HalfType::Float16;
  HalfCompute compute = HalfCompute::Full;
  bool keep_io_types = true;
  uint64_t input_bytes = 0, output_bytes = 0;
  double size_ratio = 0;  // output / input
  CastStats rewrite;
  int64_t samples = 0;
  CompareStats accuracy;  // over every output of every sample
  std::vector<OutputAgreement> outputs;
  std::optional<LatencyStats> float_latency, half_latency;
  double speedup = 0;     // float32 median / half median; < 1 means half is slower
  bool half_slower = false;
  int threads = 1;
  std::string runtime_version;
  std::vector<std::string> notes;  // plain-language remarks: fallbacks taken, slower than float32, clamping
};

// Throws LoadError (input), UnsupportedOpError (graph cannot be rewritten), RuntimeError (ORT refuses the
// result), VerificationError (checker or min_cosine), DataError (samples), IoError (writing).
CastResult cast_model(const CastRequest& request);
nlohmann::json to_json(const CastResult& result);

}  // namespace onnxquant
