// The ranges file: calibration's product (JSON, schema in docs/ranges-file.md). Calibration is the
// expensive step, so its result is saved, can be inspected and edited, and is fed back to `quantize`
// without running the model again. It is tied to the model by the model file's SHA-256.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "calib/observer.h"
#include "calib/range_methods.h"
#include "quant/quant_params.h"

namespace onnxquant {

inline constexpr int kRangesFormatVersion = 1;
inline constexpr const char* kRangesFormatName = "onnxquant-ranges";

struct TensorRange {
  Range range;               // the selected range: min <= 0 <= max
  float observed_min = 0.0f; // raw finite min/max seen during calibration
  float observed_max = 0.0f;
  uint64_t count = 0;        // finite values observed
  // Full statistics, kept when the file is saved with histograms; lets another method be applied to
  // the file alone (recompute_ranges).
  std::optional<Observer> observer;
};

struct RangesFile {
  int format_version = kRangesFormatVersion;
  std::string tool_version;  // onnxquant version that wrote it
  std::string model_file;    // file name of the model (for messages only)
  std::string model_sha256;  // hex SHA-256 of the model file: the identity check
  RangeOptions method;       // method, target and the method's parameters
  uint64_t samples = 0;      // calibration samples run
  std::map<std::string, TensorRange> tensors;
  std::filesystem::path source;  // where load_ranges() read it from; not saved

  // name -> range, what planners read (quant/ takes this map, not the file type).
  std::map<std::string, Range> ranges() const;
};

// A tensor entry from its observer and chosen range (keeps a copy of the observer for histograms).
TensorRange make_tensor_range(const Observer& observer, Range range);

enum class HistogramOutput { Omit, Include };
struct SaveRangesOptions {
  HistogramOutput histograms = HistogramOutput::Omit;  // histograms make the file ~30 KB per tensor
};

nlohmann::json ranges_to_json(const RangesFile& file, const SaveRangesOptions& options = {});
// `source` names the file in error messages. Throws DataError naming source and key.
RangesFile ranges_from_json(const nlohmann::json& j, const std::string& source);

// Writes atomically (temp file + rename); an existing file is never damaged. Throws IoError, or
// InternalError for a file that would not load back (NaN, min > max, range without 0).
void save_ranges(const std::filesystem::path& path, const RangesFile& file, const SaveRangesOptions& options = {});
// Throws DataError naming the file and key: unreadable file, bad JSON, wrong format or version, missing
// fields, min > max, NaN, a range that does not contain 0.
RangesFile load_ranges(const std::filesystem::path& path);

// Throws CalibrationError naming both hashes when the ranges were computed on a different model file.
void check_ranges_match_model(const RangesFile& file, const std::string& model_sha256, const std::filesystem::path& model_path);

// Applies another method/target to a file saved with histograms. Throws CalibrationError naming the
// first tensor without a histogram.
RangesFile recompute_ranges(const RangesFile& file, const RangeOptions& options);

}  // namespace onnxquant
