#include "pipeline/run_job.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "io/npy.h"
#include "ir/model.h"

namespace onnxquant {
namespace fs = std::filesystem;

namespace {
struct RunningStats {
  double min = std::numeric_limits<double>::infinity(), max = -std::numeric_limits<double>::infinity(), sum = 0;
  int64_t n = 0, nonfinite = 0;
  void add(const Tensor& t) {
    if (dtype_size(t.dtype) == 0) return;
    for (double v : t.to_doubles()) {
      if (!std::isfinite(v)) { ++nonfinite; continue; }
      min = std::min(min, v);
      max = std::max(max, v);
      sum += v;
      ++n;
    }
  }
};

// Output names can hold '/' or ':' (exporters use them freely); make them safe file names.
std::string file_safe(const std::string& name) {
  std::string s = name;
  for (char& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) c = '_';
  return s;
}
}  // namespace

RunResult run_model(const RunRequest& req) {
  Model model = Model::load(req.model);
  Executor ex(model, req.exec);
  RunResult result;
  result.model = req.model.string();
  result.session_create_ms = ex.session_create_ms();
  InputSource source(ex.inputs(), req.inputs);
  std::vector<RunningStats> stats(ex.outputs().size());
  NamedTensors last_inputs;
  NamedTensors last_outputs;
  if (!req.save_outputs_dir.empty()) {
    std::error_code ec;
    fs::create_directories(req.save_outputs_dir, ec);
    if (!fs::is_directory(req.save_outputs_dir)) throw IoError(req.save_outputs_dir.string() + ": cannot create output folder");
  }
  while (auto sample = source.next()) {
    const auto t0 = std::chrono::steady_clock::now();
    last_outputs = ex.run(*sample);
    result.run_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (size_t i = 0; i < ex.outputs().size(); ++i) stats[i].add(last_outputs.at(ex.outputs()[i].name));
    if (!req.save_outputs_dir.empty())
      for (const auto& [name, t] : last_outputs) {
        const fs::path file = req.save_outputs_dir / (file_safe(name) + "_" + std::to_string(result.samples) + ".npy");
        write_npy(file, t);
        result.saved_files.push_back(file.string());
      }
    last_inputs = std::move(*sample);
    ++result.samples;
  }
  for (size_t i = 0; i < ex.outputs().size(); ++i) {
    const auto& info = ex.outputs()[i];
    OutputSummary o;
    o.name = info.name;
    o.dtype = info.dtype;
    if (auto it = last_outputs.find(info.name); it != last_outputs.end()) o.shape = it->second.shape;
    o.nonfinite = stats[i].nonfinite;
    if (stats[i].n > 0) {
      o.min = stats[i].min;
      o.max = stats[i].max;
      o.mean = stats[i].sum / static_cast<double>(stats[i].n);
    }
    result.outputs.push_back(o);
  }
  if (req.latency.runs > 0 && result.samples > 0) result.latency = measure_latency(ex, last_inputs, req.latency);
  return result;
}

nlohmann::json to_json(const RunResult& r) {
  nlohmann::json j;
  j["command"] = "run";
  j["schema_version"] = 1;
  j["model"] = r.model;
  j["samples"] = r.samples;
  j["session_create_ms"] = r.session_create_ms;
  j["run_seconds"] = r.run_seconds;
  j["outputs"] = nlohmann::json::array();
  for (const auto& o : r.outputs)
    j["outputs"].push_back({{"name", o.name}, {"dtype", dtype_name(o.dtype)}, {"shape", o.shape}, {"min", o.min}, {"max", o.max},
                            {"mean", o.mean}, {"nonfinite", o.nonfinite}});
  if (r.latency)
    j["latency_ms"] = {{"median", r.latency->median_ms}, {"p90", r.latency->p90_ms}, {"min", r.latency->min_ms},
                       {"mean", r.latency->mean_ms}, {"runs", r.latency->samples_ms.size()}};
  if (!r.saved_files.empty()) j["saved_files"] = r.saved_files;
  return j;
}

}  // namespace onnxquant
