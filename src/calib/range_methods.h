// Range selection: turns an observer (min/max + histogram) into the range a tensor is quantized with.
// Every method reads the same statistics, so trying another method never re-runs the model.
//
// All methods return a Range with min <= 0 <= max. For int8 symmetric the range is [-t, t]; for uint8
// asymmetric each side is chosen separately (a ReLU output gets [0, t]).
//
// Zero-range (constant) tensors: every method returns the minmax range [min(0, c), max(0, c)], e.g. a
// constant 5 gives [0, 5] and 5 lands exactly on the grid's end. An all-zero tensor gives [0, 0]; compute_qparams() maps that to scale 1,
// zero point 0 (quant_params.h), which represents the zeros exactly.
#pragma once
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "calib/observer.h"
#include "quant/quant_params.h"

namespace onnxquant {

enum class RangeMethod { MinMax, Percentile, Entropy, Mse };

const char* method_name(RangeMethod m);  // "minmax", "percentile", "entropy", "mse"
std::optional<RangeMethod> parse_method(std::string_view name);

struct PercentileOptions {
  // Share of the values kept, in percent. Symmetric: percentile of |x|. Asymmetric: (100 - p) / 2 percent
  // is cut from each tail (as ORT's quantizer does).
  double percentile = 99.99;
};

struct EntropyOptions {
  // Quantization levels per side in the KL search. 128 matches int8 symmetric (TensorRT); for uint8
  // asymmetric the 2 * levels = 256 levels are shared between the sides in proportion to their extent.
  int levels = 128;
  // The |x| histogram is coarsened (by exact pair merges) to at most this many bins first: the search
  // was designed and tuned by TensorRT on 2048 bins.
  int max_bins = 2048;
};

struct MseOptions {
  // Clipping candidates per side on the coarse pass; the best one is refined on a finer grid around it.
  int candidates = 128;
};

struct RangeOptions {
  // MSE by default, for `calibrate` and `quantize -i` alike (so that `calibrate` + `quantize --ranges`
  // gives the model `quantize -i` gives): on the corpus it beat minmax on every model but squeezenet
  // (equal there) and entropy on all but one (docs/static-int8-accuracy.md).
  RangeMethod method = RangeMethod::Mse;
  QuantTarget target = QuantTarget::UInt8Asymmetric;
  PercentileOptions percentile;
  EntropyOptions entropy;
  MseOptions mse;
};

// Throws UsageError for options out of range (percentile outside (0, 100], levels < 2, ...).
void validate_range_options(const RangeOptions& options);

// The range for one tensor. Throws CalibrationError when the observer saw no finite value (the caller
// names the tensor).
Range select_range(const Observer& observer, const RangeOptions& options);

// The method's parameters as written to / read from the ranges file ({"percentile": 99.99} ...); only
// the chosen method's. Reading fills defaults for missing keys and throws DataError on bad values.
nlohmann::json method_params_to_json(const RangeOptions& options);
void method_params_from_json(const nlohmann::json& params, RangeOptions& options);

// Individual methods (exposed for tests and for tools that compare methods).
Range minmax_range(const Observer& observer, QuantTarget target);
Range percentile_range(const Observer& observer, QuantTarget target, const PercentileOptions& options);
Range entropy_range(const Observer& observer, QuantTarget target, const EntropyOptions& options);
Range mse_range(const Observer& observer, QuantTarget target, const MseOptions& options);

}  // namespace onnxquant
