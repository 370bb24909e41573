#include "calib/ranges_file.h"

#include <cmath>
#include <limits>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/sha256.h"
#include "core/version.h"

namespace onnxquant {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Ranges files are small (a few KB per tensor with histograms); anything beyond this is not one.
constexpr size_t kMaxRangesFileBytes = size_t{1} << 30;

const char* kFixHint = "fix the file or re-run `onnxquant calibrate` to write a new one";

bool is_valid_range(Range r) { return std::isfinite(r.min) && std::isfinite(r.max) && r.min <= 0.0 && r.max >= 0.0; }

json histogram_json(const Observer& obs) {
  const Histogram& h = obs.histogram();
  const size_t begin = h.first_nonzero(), end = h.end_nonzero();
  const auto counts = h.counts();
  return {{"capacity", h.capacity()},
          {"width_log2", h.width_log2()},
          {"first_bin", h.first_bin() + static_cast<int64_t>(begin)},  // global index of counts[0]
          {"zeros", obs.counts().zeros},
          {"counts", std::vector<uint64_t>(counts.begin() + static_cast<ptrdiff_t>(begin), counts.begin() + static_cast<ptrdiff_t>(end))}};
}

// Reads typed fields with errors that name the file and the key path ("tensors.conv1.min").
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw DataError("ranges file " + source_ + ": " + (key.empty() ? "" : key + ": ") + what, kFixHint);
  }

  const json& field(const json& obj, const std::string& path, const char* key) const {
    const std::string where = path.empty() ? key : path + "." + key;
    if (!obj.is_object()) fail(path, "expected an object");
    const auto it = obj.find(key);
    if (it == obj.end()) fail(where, "missing");
    return *it;
  }

  double number(const json& obj, const std::string& path, const char* key) const {
    const json& v = field(obj, path, key);
    const std::string where = path + "." + key;
    // json has no NaN or Inf: our writer never produces them, and nlohmann writes NaN as null.
    if (v.is_null()) fail(where, "is null (NaN or Inf are not valid range values)");
    if (!v.is_number()) fail(where, "expected a number, got " + std::string(v.type_name()));
    const double d = v.get<double>();
    if (!std::isfinite(d)) fail(where, "is not finite");
    return d;
  }

  float float_number(const json& obj, const std::string& path, const char* key) const {
    const double d = number(obj, path, key);
    if (std::abs(d) > std::numeric_limits<float>::max()) fail(path + "." + key, "is outside the float range");
    return static_cast<float>(d);
  }

  uint64_t count(const json& obj, const std::string& path, const char* key) const {
    const json& v = field(obj, path, key);
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
      fail(path.empty() ? key : path + "." + key, "expected a non-negative integer");
    return v.get<uint64_t>();
  }

  int64_t integer(const json& obj, const std::string& path, const char* key) const {
    const json& v = field(obj, path, key);
    if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{1} << 62))
      fail(path + "." + key, "expected an integer");
    return v.get<int64_t>();
  }

  std::string string(const json& obj, const std::string& path, const char* key) const {
    const json& v = field(obj, path, key);
    if (!v.is_string()) fail(path.empty() ? key : path + "." + key, "expected a string");
    return v.get<std::string>();
  }

  Observer observer(const json& h, const std::string& path, const TensorRange& t) const {
    const auto capacity = integer(h, path, "capacity");
    const auto width_log2 = integer(h, path, "width_log2");
    if (capacity < 2 || capacity > (1 << 24) || width_log2 < -1000 || width_log2 > 1000) fail(path, "capacity or width_log2 out of range");
    const json& counts_json = field(h, path, "counts");
    if (!counts_json.is_array()) fail(path + ".counts", "expected an array");
    std::vector<uint64_t> counts;
    counts.reserve(counts_json.size());
    for (const auto& c : counts_json) {
      if (!c.is_number_unsigned() && !(c.is_number_integer() && c.get<int64_t>() >= 0))
        fail(path + ".counts", "expected non-negative integers");
      counts.push_back(c.get<uint64_t>());
    }
    ObserverCounts oc;
    oc.finite = t.count;
    oc.zeros = count(h, path, "zeros");
    try {
      Histogram hist = Histogram::restore(static_cast<int>(capacity), static_cast<int>(width_log2), std::min(t.observed_min, 0.0f),
                                          std::max(t.observed_max, 0.0f), integer(h, path, "first_bin"), counts);
      return Observer::restore(t.observed_min, t.observed_max, oc, std::move(hist));
    } catch (const DataError& e) {
      fail(path, e.what());
    }
  }

 private:
  std::string source_;
};

void check_savable(const RangesFile& file) {
  for (const auto& [name, t] : file.tensors) {
    if (!is_valid_range(t.range))
      throw InternalError("ranges for tensor '" + name + "' are [" + std::to_string(t.range.min) + ", " +
                          std::to_string(t.range.max) + "]: not finite or not containing 0");
    if (!(t.observed_min <= t.observed_max)) throw InternalError("observed range of tensor '" + name + "' is empty or NaN");
  }
}

}  // namespace

std::map<std::string, Range> RangesFile::ranges() const {
  std::map<std::string, Range> out;
  for (const auto& [name, t] : tensors) out.emplace(name, t.range);
  return out;
}

TensorRange make_tensor_range(const Observer& observer, Range range) {
  TensorRange t;
  t.range = range;
  t.observed_min = observer.min();
  t.observed_max = observer.max();
  t.count = observer.counts().finite;
  t.observer = observer;
  return t;
}

json ranges_to_json(const RangesFile& file, const SaveRangesOptions& options) {
  json tensors = json::object();
  for (const auto& [name, t] : file.tensors) {
    json entry = {{"min", t.range.min},
                  {"max", t.range.max},
                  {"observed_min", t.observed_min},
                  {"observed_max", t.observed_max},
                  {"count", t.count}};
    if (options.histograms == HistogramOutput::Include && t.observer && !t.observer->empty())
      entry["histogram"] = histogram_json(*t.observer);
    tensors[name] = std::move(entry);
  }
  return {{"format", kRangesFormatName},
          {"format_version", file.format_version},
          {"tool_version", file.tool_version.empty() ? std::string(ONNXQ_VERSION) : file.tool_version},
          {"model", {{"file", file.model_file}, {"sha256", file.model_sha256}}},
          {"method",
           {{"name", method_name(file.method.method)},
            {"target", target_name(file.method.target)},
            {"params", method_params_to_json(file.method)}}},
          {"samples", file.samples},
          {"tensors", std::move(tensors)}};
}

RangesFile ranges_from_json(const json& j, const std::string& source) {
  const Reader r(source);
  if (!j.is_object()) r.fail("", "expected a JSON object at the top level");
  if (!j.contains("format") || !j["format"].is_string() || j["format"].get<std::string>() != kRangesFormatName)
    r.fail("format", std::string("missing or not \"") + kRangesFormatName + "\": not an onnxquant ranges file");
  RangesFile f;
  f.format_version = static_cast<int>(r.integer(j, "", "format_version"));
  if (f.format_version > kRangesFormatVersion)
    r.fail("format_version", std::to_string(f.format_version) + " was written by a newer onnxquant; this one (" + ONNXQ_VERSION +
                                 ") reads version " + std::to_string(kRangesFormatVersion));
  if (f.format_version < 1) r.fail("format_version", std::to_string(f.format_version) + " is not a valid version");
  f.tool_version = r.string(j, "", "tool_version");
  const json& model = r.field(j, "", "model");
  f.model_file = r.string(model, "model", "file");
  f.model_sha256 = r.string(model, "model", "sha256");
  if (!is_sha256_hex(f.model_sha256)) r.fail("model.sha256", "expected 64 lowercase hex digits");

  const json& method = r.field(j, "", "method");
  const std::string name = r.string(method, "method", "name");
  const auto m = parse_method(name);
  if (!m) r.fail("method.name", "unknown method '" + name + "' (expected minmax, percentile, entropy or mse)");
  f.method.method = *m;
  const std::string target = r.string(method, "method", "target");
  const auto t = parse_target(target);
  if (!t) r.fail("method.target", "unknown target '" + target + "' (expected uint8_asymmetric or int8_symmetric)");
  f.method.target = *t;
  if (method.contains("params")) {
    try {
      method_params_from_json(method["params"], f.method);
    } catch (const DataError& e) {
      r.fail("method.params", e.what());
    }
  }
  f.samples = r.count(j, "", "samples");

  const json& tensors = r.field(j, "", "tensors");
  if (!tensors.is_object()) r.fail("tensors", "expected an object mapping tensor names to ranges");
  for (const auto& [tensor_name, entry] : tensors.items()) {
    const std::string path = "tensors." + tensor_name;
    TensorRange tr;
    tr.range = {r.number(entry, path, "min"), r.number(entry, path, "max")};
    if (tr.range.min > tr.range.max)
      r.fail(path, "min " + std::to_string(tr.range.min) + " is greater than max " + std::to_string(tr.range.max));
    if (!is_valid_range(tr.range))
      r.fail(path, "range [" + std::to_string(tr.range.min) + ", " + std::to_string(tr.range.max) +
                       "] must contain 0 so that 0.0 stays exact after quantization");
    tr.observed_min = r.float_number(entry, path, "observed_min");
    tr.observed_max = r.float_number(entry, path, "observed_max");
    if (tr.observed_min > tr.observed_max) r.fail(path, "observed_min is greater than observed_max");
    tr.count = r.count(entry, path, "count");
    if (entry.contains("histogram")) tr.observer = r.observer(entry["histogram"], path + ".histogram", tr);
    f.tensors.emplace(tensor_name, std::move(tr));
  }
  return f;
}

void save_ranges(const fs::path& path, const RangesFile& file, const SaveRangesOptions& options) {
  check_savable(file);
  const std::string text = ranges_to_json(file, options).dump(2) + "\n";
  write_file_atomically(path, text);
}

RangesFile load_ranges(const fs::path& path) {
  std::string text;
  try {
    text = read_file(path, kMaxRangesFileBytes);
  } catch (const LoadError& e) {
    // One error kind for every problem with a ranges file.
    throw DataError(std::string("ranges file ") + e.what());
  }
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw DataError("ranges file " + path.string() + ": not valid JSON (at byte " + std::to_string(e.byte) + ")", kFixHint);
  }
  RangesFile f = ranges_from_json(j, path.string());
  f.source = path;
  return f;
}

void check_ranges_match_model(const RangesFile& file, const std::string& model_sha256, const fs::path& model_path) {
  if (file.model_sha256 == model_sha256) return;
  const std::string from = file.source.empty() ? std::string("the ranges") : "ranges file " + file.source.string();
  throw CalibrationError(from + " was computed on model '" + file.model_file + "' (sha256 " + file.model_sha256 + "), but " +
                             model_path.string() + " has sha256 " + model_sha256,
                         "calibrate this model (onnxquant calibrate) or pass the ranges file made for it");
}

RangesFile recompute_ranges(const RangesFile& file, const RangeOptions& options) {
  validate_range_options(options);
  RangesFile out = file;
  out.method = options;
  for (auto& [name, t] : out.tensors) {
    if (!t.observer)
      throw CalibrationError("tensor '" + name + "' has no histogram in the ranges file, so its range cannot be recomputed",
                             "re-run calibrate and save the histograms");
    try {
      t.range = select_range(*t.observer, options);
    } catch (const CalibrationError& e) {
      throw CalibrationError("tensor '" + name + "': " + e.what());
    }
  }
  return out;
}

}  // namespace onnxquant
